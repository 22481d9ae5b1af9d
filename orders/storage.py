from django.core.files.storage import FileSystemStorage


class PrivateFileSystemStorage(FileSystemStorage):
    """Local private files: they have no URL, so nothing can link to them."""

    def url(self, name):
        raise ValueError("Private files have no URL; serve them through a view.")
