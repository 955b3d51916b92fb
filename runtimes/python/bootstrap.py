"""runtimed's python runtime: loads the function's handler once, then serves the Lambda Runtime API.

Standard library only. Error objects, messages and logging follow AWS's own python runtime
(awslambdaric) so that functions and their callers see what they would see on Lambda.
"""

# Only what every invocation needs is imported at start: a cold start pays for each import. The
# C _socket rather than socket (enum, selectors), json's C scanner and encoder rather than json
# (re, enum; see from_json), traceback when an error is reported, logging when the function
# imports it (see StandardModulesFirst).
import _json
import _socket
import importlib
import os
import sys
import time

API_PREFIX = "/2018-06-01/runtime"
ERROR_TYPE_HEADER = "Lambda-Runtime-Function-Error-Type"


class Headers(dict):
    """Response headers by lower-cased name; get() takes a name in any case."""

    def get(self, name, default=None):
        return dict.get(self, name.lower(), default)


class RuntimeClient:
    """The Runtime API over one keep-alive connection, reopened if the daemon closed it.

    A few lines of HTTP/1.1 over a socket rather than http.client, whose imports (email, ssl)
    would add ~35 ms to every cold start for nothing the daemon's answers need.
    """

    def __init__(self, address):
        host, _, port = address.rpartition(":")
        self.address = (host, int(port))
        self.sock = None
        self.buf = bytearray()

    def close(self):
        if self.sock is not None:
            self.sock.close()
        self.sock, self.buf = None, bytearray()

    def exchange(self, method, path, body, headers):
        if self.sock is None:
            self.sock = self.connect()
        lines = ["%s %s%s HTTP/1.1" % (method, API_PREFIX, path), "Host: %s:%d" % self.address]
        lines += ["%s: %s" % item for item in headers.items()]
        if body is not None:
            lines.append("Content-Length: %d" % len(body))
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("utf-8") + (body or b""))
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            self.receive()
        head = self.buf[:end].decode("latin-1").split("\r\n")
        del self.buf[: end + 4]
        status = int(head[0].split(" ", 2)[1])
        answer_headers = Headers()
        for line in head[1:]:
            name, _, value = line.partition(":")
            answer_headers[name.strip().lower()] = value.strip()
        length = int(answer_headers.get("Content-Length") or 0)
        while len(self.buf) < length:
            self.receive()
        answer = bytes(self.buf[:length])
        del self.buf[:length]
        if answer_headers.get("Connection", "").lower() == "close":
            self.close()
        return status, answer_headers, answer

    def connect(self):
        # socket.create_connection's loop over the addresses, on the C socket module.
        host, port = self.address
        error = OSError("getaddrinfo found no address for %s" % host)
        # An ASCII name as bytes: a str is first encoded with the idna codec, whose imports
        # (stringprep, unicodedata) cost more than the rest of the connection.
        name = host.encode() if host.isascii() else host
        for family, kind, proto, _, address in _socket.getaddrinfo(
            name, port, 0, _socket.SOCK_STREAM
        ):
            sock = _socket.socket(family, kind, proto)
            try:
                sock.connect(address)
            except OSError as e:
                sock.close()
                error = e
                continue
            sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
            return sock
        raise error

    def receive(self):
        # 64 KiB, not more: recv allocates its whole size for every call, and a 1 MiB buffer
        # is an mmap + page faults + munmap each time (it was 85% of the CPU per invocation).
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionResetError("the Runtime API closed the connection")
        self.buf += chunk

    def request(self, method, path, body=None, headers=None):
        for attempt in (0, 1):
            try:
                return self.exchange(method, path, body, headers or {})
            except ConnectionError:
                # A keep-alive connection the server closed: the request never reached it.
                self.close()
                if attempt:
                    raise

    def next(self):
        status, headers, body = self.request("GET", "/invocation/next")
        if status != 200:
            sys.exit("runtime: /invocation/next answered %d: %r" % (status, body))
        return headers, body

    def post(self, path, body, headers=None):
        headers = dict(headers or {}, **{"Content-Type": "application/json"})
        status, _, answer = self.request("POST", path, body, headers)
        if status != 202:
            print("runtime: POST %s answered %d: %s" % (path, status, answer[:200]))


class FaultException(Exception):
    def __init__(self, error_type, message, trace=None):
        super().__init__(message)
        self.error_type, self.message, self.trace = error_type, message, trace


def load_handler(handler):
    """The handler function of 'module.function' ('pkg.sub.module.function' too), imported once."""
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise FaultException("Runtime.MalformedHandlerName", "Bad handler '%s': %s" % (handler, e))
    try:
        if modname.split(".")[0] in sys.builtin_module_names:
            raise FaultException(
                "Runtime.BuiltInModuleConflict",
                "Cannot use built-in module %s as a handler module" % modname,
            )
        module = importlib.import_module(modname.replace("/", "."))
    except ImportError as e:
        raise FaultException(
            "Runtime.ImportModuleError", "Unable to import module '%s': %s" % (modname, e)
        )
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise FaultException(
            "Runtime.UserCodeSyntaxError", "Syntax error in module '%s': %s" % (modname, e), trace
        )
    function = getattr(module, fname, None)
    if function is None:
        raise FaultException(
            "Runtime.HandlerNotFound", "Handler '%s' missing on module '%s'" % (fname, modname)
        )
    return function


def error_object(exc, request_id=None):
    """AWS's error shape; the frames of this file are left out of the stack trace."""
    if isinstance(exc, FaultException):
        error_type, message, trace = exc.error_type, exc.message, exc.trace or []
    else:
        import traceback

        frames = traceback.extract_tb(exc.__traceback__)
        while frames and frames[0].filename.endswith("/bootstrap.py"):
            frames = frames[1:]
        error_type, message, trace = type(exc).__name__, str(exc), traceback.format_list(frames)
    error = {"errorMessage": message, "errorType": error_type}
    if request_id is not None:
        error["requestId"] = request_id
    error["stackTrace"] = trace
    return error


def log_error(error):
    # One log record: AWS joins the lines with "\r" so a log line is one error.
    lines = ["[ERROR] %s: %s" % (error["errorType"], error["errorMessage"])]
    if error["stackTrace"]:
        lines.append("Traceback (most recent call last):")
        for element in error["stackTrace"]:
            lines.extend(element.splitlines())
    sys.stdout.write("\r".join(lines) + "\n")


class JsonDecoderSettings:
    """What json.loads' default decoder hands its C scanner (json.decoder.JSONDecoder())."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {"-Infinity": float("-inf"), "Infinity": float("inf"), "NaN": float("nan")}.__getitem__


scan_json = _json.make_scanner(JsonDecoderSettings())


def unserializable(value):
    raise TypeError  # to_json's slow path raises json's own error


# json.dumps(value, ensure_ascii=False, separators=(",", ":")) is this C encoder, as json builds it.
json_markers = {}  # the encoder's circular-reference check; json.dumps starts each call empty
encode_json = _json.make_encoder(
    json_markers, unserializable, _json.encode_basestring, None, ":", ",", False, False, True
)


def from_json(text):
    """json.loads(text): the same C scanner json uses, without importing json (which imports re
    and enum) unless the text is not plain UTF-8 JSON; json then answers, or raises its error."""
    try:
        decoded = text.decode("utf-8") if isinstance(text, bytes) else text
        value, end = scan_json(decoded, 0)
        if end == len(decoded):
            return value
    except Exception:
        pass
    import json

    return json.loads(text)


def to_json(value):
    """json.dumps(value, ensure_ascii=False, separators=(",", ":")) as UTF-8, json's C encoder
    without importing json; json's own dumps when that fails, to raise its error."""
    try:
        text = "".join(encode_json(value, 0))
    except Exception:
        json_markers.clear()  # what an encoding that failed half-way left behind
        import json

        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.encode("utf-8")


class LambdaContext:
    def __init__(self, request_id, headers):
        env = os.environ
        self.aws_request_id = request_id
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = headers.get("Lambda-Runtime-Invoked-Function-Arn")
        self.memory_limit_in_mb = int(env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "0"))
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self._deadline_ms = int(headers.get("Lambda-Runtime-Deadline-Ms") or 0)
        client_context = headers.get("Lambda-Runtime-Client-Context")
        identity = headers.get("Lambda-Runtime-Cognito-Identity")
        self.client_context = from_json(client_context) if client_context else None
        self.identity = from_json(identity) if identity else None

    def get_remaining_time_in_millis(self):
        return max(self._deadline_ms - int(time.time() * 1000), 0)


request_id_for_logs = ""


def setup_logging(logging):
    """The root logger as Lambda's: its handler writes the request id in every record."""

    class RequestIdFilter(logging.Filter):
        def filter(self, record):
            record.aws_request_id = request_id_for_logs
            return True

    logging.Formatter.converter = time.gmtime
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
        "%Y-%m-%dT%H:%M:%S"))
    handler.addFilter(RequestIdFilter())
    logging.getLogger().addHandler(handler)


class StandardModulesFirst:
    """Lazy imports that resolve as the eager ones did, and logging set up when first imported.

    The bootstrap used to import json, logging, socket and traceback at start, so those modules
    and the ones they import (PINNED) were the standard library's for the function too, even
    when its own directory has a json.py: a cached module wins over sys.path. They are imported
    when needed now, so this finder, first on sys.meta_path, looks them up on sys.path as it was
    when the bootstrap started (before the function's directories) with the finders after it.
    logging is set up (setup_logging) before the import statement that asked for it returns.
    """

    PINNED = frozenset((
        "collections", "copyreg", "enum", "json", "linecache", "logging", "re", "selectors",
        "socket", "string", "textwrap", "threading", "token", "tokenize", "traceback", "weakref",
        "array", "atexit", "errno", "math", "select",
    ))

    def __init__(self, search_path):
        self.search_path = search_path

    def find_spec(self, name, path=None, target=None):
        if path is not None or name not in self.PINNED:
            return None
        for finder in sys.meta_path:
            find_spec = getattr(finder, "find_spec", None) if finder is not self else None
            spec = find_spec(name, self.search_path, target) if find_spec else None
            if spec is not None:
                if name == "logging":
                    spec.loader = SetUpAfterLoading(spec.loader)
                return spec
        return None

    @staticmethod
    def install(search_path):
        sys.meta_path.insert(0, StandardModulesFirst(search_path))
        if "logging" in sys.modules:
            setup_logging(sys.modules["logging"])


class SetUpAfterLoading:
    """The logging module's own loader, then setup_logging."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        setup_logging(module)

    def __getattr__(self, name):
        return getattr(self.loader, name)


def handle(client, function, headers, body):
    request_id = headers.get("Lambda-Runtime-Aws-Request-Id")
    global request_id_for_logs
    request_id_for_logs = request_id
    trace_id = headers.get("Lambda-Runtime-Trace-Id")
    if trace_id:
        os.environ["_X_AMZN_TRACE_ID"] = trace_id
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)
    try:
        context = LambdaContext(request_id, headers)
        event = from_json(body) if body else None
        result = to_json(function(event, context))
    except Exception as e:
        error = error_object(e, request_id)
        log_error(error)
        client.post("/invocation/%s/error" % request_id, to_json(error))
        return
    client.post("/invocation/%s/response" % request_id, result)


def await_function():
    """A stem (RUNTIMED_STEM_FD set): this interpreter started before its function was chosen, in
    the environment the function will run in. Wait here until the daemon has bound the function's
    code and sends its environment (NUL-separated KEY=VALUE, then EOF), then become that function's
    runtime as if started with it: its environment, /var/task as the working directory, its time
    zone and PYTHONPATH. Nothing of the function is imported before that."""
    stem_fd = os.environ.get("RUNTIMED_STEM_FD")
    if stem_fd is None:
        return
    fd = int(stem_fd)
    chunks = []
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    block = b"".join(chunks)
    if not block:
        sys.exit(0)  # the environment was discarded before it got a function
    os.environ.clear()
    for entry in block.split(b"\0"):
        key, sep, value = entry.partition(b"=")
        if sep:
            os.environb[key] = value
    os.chdir(os.environ.get("LAMBDA_TASK_ROOT", "/var/task"))
    time.tzset()
    # What the interpreter would have put after the script's directory had it started with them.
    extra = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    sys.path[1:1] = extra


def main():
    await_function()
    client = RuntimeClient(os.environ["AWS_LAMBDA_RUNTIME_API"])
    task_root = os.environ.get("LAMBDA_TASK_ROOT", "/var/task")
    StandardModulesFirst.install(list(sys.path))
    # As on Lambda: the function's code first, then layers, then the runtime.
    sys.path[:] = [task_root, "/opt/python"] + sys.path[1:] + ["/var/runtime"]
    try:
        function = load_handler(os.environ["_HANDLER"])
    except Exception as e:
        error = error_object(e)
        log_error(error)
        client.post("/init/error", to_json(error), {ERROR_TYPE_HEADER: error["errorType"]})
        sys.exit(1)
    while True:
        headers, body = client.next()
        handle(client, function, headers, body)


if __name__ == "__main__":
    main()
