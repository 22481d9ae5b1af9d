"""The shop deployed across hosts on this one machine, as production runs it.

Network namespaces (``ip netns``) joined by veth pairs to a bridge stand in for
machines on a private network:

    data   10.77.R.2    PostgreSQL and Redis ("db" and "redis", as compose names them)
    web1   10.77.R.11   gunicorn, the Dockerfile's command
    web2   10.77.R.12   gunicorn, the same
    work   10.77.R.21   the Celery worker and beat, compose's commands

and HAProxy, on the bridge (10.77.R.1), terminates TLS for shop.cellar.test and spreads
requests round-robin over the web hosts, with no stickiness; it also offers each
web host alone on a port of its own (8441, 8442), for a test that must choose.

What each host runs is read from the Dockerfile and docker-compose.yml, so the two
stay true to what this deploys: the commands, the environment (compose's, with the
host names above in each namespace's /etc/hosts) and the health check. Three things
differ, each for a reason: the settings module is ``cellar.settings.staging``
(production's, with the Stripe emulator for Stripe), media and invoices live in
a folder every host mounts (compose's named volumes), and mail is written to files.

Needs root (namespaces), iproute2, HAProxy, openssl, PostgreSQL's server binaries
and redis-server. Everything it starts runs in a process group of its own, and
``stop()`` ends them all and removes the namespaces, whatever state they are in.
"""

import contextlib
import functools
import glob
import http.client
import json
import os
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse
from http.cookies import SimpleCookie
from pathlib import Path

import yaml

BASE_DIR = Path(__file__).resolve().parent.parent
SHOP = "shop.cellar.test"
HTTPS_PORT = 443
HOST_PORTS = {"web1": 8441, "web2": 8442}
PASSWORD = "hosts-pw-1234"
HOST_NUMBERS = {"data": 2, "web1": 11, "web2": 12, "work": 21}


def missing_tools():
    """What this machine lacks to deploy; empty when it can."""
    missing = [
        tool
        for tool in ("ip", "haproxy", "openssl", "redis-server", "runuser")
        if shutil.which(tool) is None
    ]
    if not glob.glob("/usr/lib/postgresql/*/bin/postgres"):
        missing.append("postgresql (server binaries)")
    if os.geteuid() != 0:
        missing.append("root (for ip netns)")
    return missing


# What the Dockerfile and compose say ------------------------------------------


def dockerfile_cmd():
    """The image's CMD, as the argv it runs."""
    text = (BASE_DIR / "Dockerfile").read_text()
    match = re.search(r"^CMD (\[.*\])\s*$", text, re.MULTILINE)
    return json.loads(match[1])


@functools.cache
def compose():
    return yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())


def interpolate(value, variables):
    """Compose's ``${NAME:-default}`` and ``${NAME}``, from ``variables``."""

    def one(match):
        name, default = match[1], match[3] or ""
        return variables.get(name) or default

    return re.sub(r"\$\{(\w+)(:-([^}]*))?\}", one, str(value))


def compose_command(service):
    command = compose()["services"][service]["command"]
    return command if isinstance(command, list) else shlex.split(command)


def compose_healthcheck(service):
    """The health check's argv (compose's ``CMD`` form)."""
    test = compose()["services"][service]["healthcheck"]["test"]
    assert test[0] == "CMD", test
    return test[1:]


def app_environment(overrides):
    """The environment compose gives the app services, interpolated."""
    environment = compose()["x-app"]["environment"]
    return {name: interpolate(value, overrides) for name, value in environment.items()}


# The deployment ----------------------------------------------------------------


class Deployment:
    def __init__(self, logs=None):
        self.run_id, self.record = _claim_run_id()
        self.prefix = f"cellar{self.run_id}"
        self.subnet = f"10.77.{self.run_id}"
        self.bridge = f"cbr{self.run_id}"
        self.balancer_ip = f"{self.subnet}.1"
        self.work = Path(tempfile.mkdtemp(prefix="cellar-hosts-"))
        self.work.chmod(0o755)
        self.record.write_text(
            json.dumps({"owner": os.getpid(), "work": str(self.work)})
        )
        # Kept after stop(): each process's output, named after it
        self.logs = Path(logs or tempfile.mkdtemp(prefix="cellar-hosts-logs-"))
        self.logs.mkdir(parents=True, exist_ok=True)
        self.mail = self.work / "mail"
        self.processes = {}
        self.cert = self.work / "shop.pem"

    # names and addresses
    def ns(self, host):
        return f"{self.prefix}-{host}"

    def ip(self, host):
        return f"{self.subnet}.{HOST_NUMBERS[host]}"

    @functools.cached_property
    def env(self):
        """What every app host's processes get: compose's environment, and ours."""
        venv_bin = str(Path(sys.executable).parent)
        base = app_environment({})
        return {
            "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
            "HOME": str(self.work),
            "LANG": "C.UTF-8",
            **base,
            # The one change to compose's environment: the emulator for Stripe
            "DJANGO_SETTINGS_MODULE": "cellar.settings.staging",
            "MEDIA_ROOT": str(self.work / "media"),
            "PRIVATE_MEDIA_ROOT": str(self.work / "private"),
            # What .env would hold in production
            "SECRET_KEY": "hosts-test-" + "k" * 50,
            # 127.0.0.1 for the health check; the balancer's address for a
            # browser that cannot look the shop's name up
            "ALLOWED_HOSTS": f"{SHOP},127.0.0.1,{self.balancer_ip}",
            "SITE_URL": f"https://{SHOP}",
            "EMAIL_URL": f"filemail:///{self.mail}",  # an absolute path: four slashes
            "WEB_CONCURRENCY": "2",
            "DEMO_PASSWORD": PASSWORD,
            # The emulator delivers its events to the balancer: trust its certificate
            "SSL_CERT_FILE": str(self.cert),
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(BASE_DIR),
        }

    # lifecycle
    def start(self, log=print):
        try:
            log("hosts: network")
            self._network()
            self._certificate()
            log("hosts: PostgreSQL and Redis on the data host")
            self._data_host()
            log("hosts: migrate, demo catalogue, collectstatic")
            for argv in (
                compose_command("migrate"),
                ["python", "manage.py", "load_demo_data", "--verbosity", "0"],
                ["python", "manage.py", "collectstatic", "--noinput", "-v", "0"],
            ):
                self.run("web1", argv, timeout=600)
            log("hosts: web1, web2, worker and beat; HAProxy")
            for host in ("web1", "web2"):
                self.start_web(host)
            # beat keeps its schedule file in its working folder, as in /app
            (self.work / "app").mkdir()
            for name in ("worker", "beat"):
                self.spawn("work", name, compose_command(name), cwd=self.work / "app")
            self._balancer()
            for host in ("web1", "web2"):
                self.wait_healthy(host)
            self.wait_for(
                lambda: " ready." in self.log_text("worker"), 120, "the worker"
            )
            self.wait_for(self._balancer_serves_both, 30, "HAProxy's health checks")
        except BaseException:
            self.stop()
            raise

    def stop(self):
        """End every process (its group), then the network, whatever went before."""
        try:
            for name in list(self.processes):
                self.kill(name, signal.SIGTERM)
            deadline = time.monotonic() + 20
            for process in self.processes.values():
                try:
                    process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    _killpg(process, signal.SIGKILL)
            for process in self.processes.values():
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=10)
            self.processes.clear()
        finally:
            _remove_run(self.run_id, self.work)
            self.record.unlink(missing_ok=True)

    def kill(self, name, sig=signal.SIGKILL):
        """Signal a process and everything it started (its process group)."""
        process = self.processes.get(name)
        if process is not None and process.poll() is None:
            _killpg(process, sig)

    # hosts and processes
    def exec_argv(self, host, argv, user=None):
        """``argv`` on ``host``; None is this machine's own namespace (the balancer)."""
        prefix = [] if host is None else ["ip", "netns", "exec", self.ns(host)]
        if user:
            prefix += ["runuser", "-u", user, "--"]
        return prefix + list(argv)

    def run(self, host, argv, *, timeout=120, env=None, user=None):
        result = subprocess.run(
            self.exec_argv(host, argv, user),
            cwd=BASE_DIR,
            env=env or self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            start_new_session=True,
        )
        if result.returncode:
            raise RuntimeError(
                f"{host}: {' '.join(argv)} exited {result.returncode}\n"
                f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
            )
        return result.stdout

    def spawn(self, host, name, argv, *, env=None, user=None, cwd=BASE_DIR):
        log = (self.logs / f"{name}.log").open("w")
        self.processes[name] = subprocess.Popen(
            self.exec_argv(host, argv, user),
            cwd=cwd,
            env=env or self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        return self.processes[name]

    def log_text(self, name):
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def start_web(self, host):
        """The Dockerfile's CMD (``sh -c "exec gunicorn …"``), on this host."""
        self.spawn(host, host, dockerfile_cmd())

    def healthy(self, host):
        """compose's health check for ``web``, run on the host as Docker would."""
        result = subprocess.run(
            self.exec_argv(host, compose_healthcheck("web")),
            cwd=BASE_DIR,
            env=self.env,
            capture_output=True,
            timeout=30,
            start_new_session=True,
        )
        return result.returncode == 0

    def wait_healthy(self, host, timeout=90):
        def check():
            process = self.processes[host]
            if process.poll() is not None:
                raise RuntimeError(f"{host} exited:\n{self.log_text(host)[-3000:]}")
            return self.healthy(host)

        self.wait_for(check, timeout, f"{host}'s health check")

    def manage(self, host, code):
        """Run Python in Django's shell on a host; what it printed, as JSON."""
        output = self.run(host, ["python", "manage.py", "shell", "-c", code])
        return json.loads(output.strip().splitlines()[-1])

    @staticmethod
    def wait_for(condition, timeout, what):
        deadline = time.monotonic() + timeout
        while True:
            result = condition()
            if result:
                return result
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
            time.sleep(0.25)

    # the network
    def _network(self):
        def ip(*args):
            subprocess.run(["ip", *args], check=True, capture_output=True)

        ip("link", "add", self.bridge, "type", "bridge")
        ip("addr", "add", f"{self.balancer_ip}/24", "dev", self.bridge)
        ip("link", "set", self.bridge, "up")
        for host, number in HOST_NUMBERS.items():
            ns, outside = self.ns(host), f"cv{self.run_id}h{number}"
            ip("netns", "add", ns)
            ip(
                "link",
                "add",
                outside,
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                ns,
            )
            ip("link", "set", outside, "master", self.bridge)
            ip("link", "set", outside, "up")
            ip("-n", ns, "addr", "add", f"{self.ip(host)}/24", "dev", "eth0")
            ip("-n", ns, "link", "set", "eth0", "up")
            ip("-n", ns, "link", "set", "lo", "up")
            # `ip netns exec` mounts these over /etc/hosts in the namespace
            etc = Path(f"/etc/netns/{ns}")
            etc.mkdir(parents=True, exist_ok=True)
            (etc / "hosts").write_text(
                f"127.0.0.1 localhost\n"
                f"{self.ip('data')} db redis\n"
                f"{self.balancer_ip} {SHOP}\n"
                f"{self.ip(host)} {host}\n"
            )
            (etc / "hostname").write_text(f"{host}\n")

    def _certificate(self):
        """A self-signed certificate for the shop's name and the balancer's address."""
        key = self.work / "shop.key"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
            + ["-subj", f"/CN={SHOP}", "-keyout", str(key), "-out", str(self.cert)]
            + ["-addext", f"subjectAltName=DNS:{SHOP},IP:{self.balancer_ip}"],
            check=True,
            capture_output=True,
        )
        (self.work / "haproxy.pem").write_text(self.cert.read_text() + key.read_text())

    # the data host
    def _data_host(self):
        pg_bin = Path(sorted(glob.glob("/usr/lib/postgresql/*/bin"))[-1])
        data = self.work / "pg"
        data.mkdir()
        shutil.chown(data, "postgres", "postgres")
        password_file = self.work / "pg-password"
        password_file.write_text("cellar\n")
        shutil.chown(password_file, "postgres", "postgres")
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(pg_bin / "initdb"), "-D", str(data)]
            + ["-U", "cellar", "--pwfile", str(password_file), "-E", "UTF8"]
            + ["--auth-local=trust", "--auth-host=scram-sha-256"],
            check=True,
            capture_output=True,
        )
        with (data / "pg_hba.conf").open("a") as hba:
            hba.write(f"host all all {self.subnet}.0/24 scram-sha-256\n")
        self.spawn(
            "data",
            "postgres",
            [str(pg_bin / "postgres"), "-D", str(data)]
            + ["-c", f"listen_addresses={self.ip('data')}", "-c", "port=5432"]
            + ["-c", f"unix_socket_directories={data}", "-c", "fsync=off"],
            user="postgres",
            cwd=data,
        )
        self.wait_for(
            lambda: _port_open(self.ip("data"), 5432), 60, "PostgreSQL on the data host"
        )
        self.wait_for(
            lambda: (
                subprocess.run(
                    ["runuser", "-u", "postgres", "--", str(pg_bin / "createdb")]
                    + ["-h", str(data), "-U", "cellar", "cellar"],
                    capture_output=True,
                ).returncode
                == 0
            ),
            30,
            "the cellar database",
        )
        redis = self.work / "redis"
        redis.mkdir()
        self.spawn(
            "data",
            "redis",
            ["redis-server", "--appendonly", "yes", "--dir", str(redis)]
            + ["--bind", self.ip("data"), "--port", "6379", "--protected-mode", "no"],
        )
        self.wait_for(lambda: _port_open(self.ip("data"), 6379), 30, "Redis")

    # the balancer
    def _balancer(self):
        web = "\n".join(
            f"    server {host} {self.ip(host)}:8000 check" for host in HOST_PORTS
        )
        pem = self.work / "haproxy.pem"
        # The TLS terminator tells the shop the request came over HTTPS; the
        # answer says which host made it.
        https = "    http-request set-header X-Forwarded-Proto https\n"
        served_by = "    http-response set-header X-Served-By %[srv_name]\n"
        direct = "".join(
            f"frontend {host}_alone\n"
            f"    bind {self.balancer_ip}:{port} ssl crt {pem}\n{https}"
            f"    default_backend {host}_alone\n"
            f"backend {host}_alone\n{served_by}"
            f"    server {host} {self.ip(host)}:8000\n"
            for host, port in HOST_PORTS.items()
        )
        proto = "hdr X-Forwarded-Proto https"
        config = self.work / "haproxy.cfg"
        config.write_text(
            f"""global
    maxconn 1024
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    timeout check 3s
    # a connection refused by a dead host is tried on the other one
    retries 3
    option redispatch
    option forwardfor
frontend shop
    bind {self.balancer_ip}:{HTTPS_PORT} ssl crt {pem}
{https}    default_backend web
backend web
{served_by}    balance roundrobin
    option httpchk
    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host 127.0.0.1 {proto}
    http-check expect status 200
    default-server inter 500ms fall 2 rise 2
{web}
{direct}"""
        )
        haproxy = self.spawn(None, "haproxy", ["haproxy", "-db", "-f", str(config)])
        # HAProxy is in this machine's namespace: a later run must find it by pid
        record = json.loads(self.record.read_text())
        self.record.write_text(json.dumps({**record, "haproxy": haproxy.pid}))

    def _balancer_serves_both(self):
        if self.processes["haproxy"].poll() is not None:
            raise RuntimeError(f"HAProxy exited:\n{self.log_text('haproxy')}")
        try:
            served = {Shopper(self).get("/healthz").served_by for _ in range(4)}
        except OSError:
            return False
        return served == set(HOST_PORTS)


RUNS = Path("/run/cellar-hosts")


def _claim_run_id():
    """A run id no live run holds (names, addresses: 10.77.<id>.0/24), recorded in
    /run/cellar-hosts; first, what runs killed before they cleaned up left behind
    (namespaces and their processes, HAProxy, the bridge) goes."""
    RUNS.mkdir(parents=True, exist_ok=True)
    for record in RUNS.glob("*.json"):
        try:
            data = json.loads(record.read_text())
        except (OSError, ValueError):
            continue
        if not _alive(data.get("owner")):
            _remove_run(int(record.stem), data.get("work"), data.get("haproxy"))
            record.unlink(missing_ok=True)
    for run_id in range(20, 220):
        record = RUNS / f"{run_id}.json"
        try:
            descriptor = os.open(record, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            continue
        with os.fdopen(descriptor, "w") as file:
            json.dump({"owner": os.getpid()}, file)
        return run_id, record
    raise RuntimeError(f"no free run id in {RUNS}")


def _alive(pid):
    """Whether process ``pid`` runs (a zombie, killed and not yet reaped, does not)."""
    if not pid:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _remove_run(run_id, work=None, haproxy=None):
    """Everything of run ``run_id``: its namespaces' processes, the namespaces, their
    /etc/netns files, its HAProxy, its bridge and its work folder."""
    prefix = f"cellar{run_id}"
    if haproxy and _alive(haproxy):
        with contextlib.suppress(OSError):
            if b"haproxy" in Path(f"/proc/{haproxy}/cmdline").read_bytes():
                os.kill(haproxy, signal.SIGKILL)
    for host in HOST_NUMBERS:
        ns = f"{prefix}-{host}"
        pids = subprocess.run(
            ["ip", "netns", "pids", ns], capture_output=True, text=True
        ).stdout.split()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        shutil.rmtree(f"/etc/netns/{ns}", ignore_errors=True)
    subprocess.run(["ip", "link", "del", f"cbr{run_id}"], capture_output=True)
    if work and Path(work).name.startswith("cellar-hosts-"):
        shutil.rmtree(work, ignore_errors=True)


def _killpg(process, sig):
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


def _port_open(host, port):
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


# A shopper's browser, minus JavaScript ---------------------------------------


class Response:
    def __init__(self, status, headers, body):
        self.status, self.headers, self.body = status, headers, body

    @property
    def text(self):
        return self.body.decode("utf-8", "replace")

    @property
    def served_by(self):
        return self.headers.get("X-Served-By")

    @property
    def location(self):
        return self.headers.get("Location")


class Shopper:
    """HTTPS to the balancer with cookies, CSRF and the Origin a browser sends."""

    RETRIED = (502, 503, 504)

    def __init__(self, deployment, port=HTTPS_PORT, retries=0):
        self.deployment = deployment
        self.port = port
        self.retries = retries
        self.cookies = {}
        self.context = ssl.create_default_context(cafile=str(deployment.cert))
        self.origin = f"https://{SHOP}" + ("" if port == HTTPS_PORT else f":{port}")
        self.served_by = []
        self.retried = 0  # requests tried again after a failure

    def at(self, port):
        """The same browser (its cookies), sending to another of the balancer's
        ports: one web host alone."""
        other = Shopper(self.deployment, port, self.retries)
        other.cookies = self.cookies
        return other

    def request(self, method, url, form=None):
        parts = urllib.parse.urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = {"Host": self.origin.split("//", 1)[1]}
        body = None
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["X-CSRFToken"] = self.cookies.get("csrftoken", "")
            headers["Origin"] = self.origin
        for attempt in range(self.retries + 1):
            try:
                response = self._send(method, path, body, headers)
            except (OSError, http.client.HTTPException):
                # the host answering died under the request (refused, reset, or
                # a body cut short): as a shopper would, try again, and the
                # balancer sends it to a live host
                if attempt == self.retries:
                    raise
                self.retried += 1
                time.sleep(0.5)
                continue
            if response.status not in self.RETRIED or attempt == self.retries:
                break
            self.retried += 1
            time.sleep(0.5)
        self.served_by.append(response.served_by)
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response

    def _send(self, method, path, body, headers):
        connection = http.client.HTTPSConnection(
            self.deployment.balancer_ip, self.port, timeout=60, context=self.context
        )
        try:
            connection.request(method, path, body=body, headers=headers)
            raw = connection.getresponse()
            return Response(raw.status, raw.headers, raw.read())
        finally:
            connection.close()

    def get(self, url):
        return self.request("GET", url)

    def post(self, url, form):
        return self.request("POST", url, form)
