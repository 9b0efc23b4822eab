"""A small stand-in for the Kafka Connect 3.8 REST API, enough for register.sh.

Answers like the real worker (shapes of GET /, /connector-plugins, config/validate,
PUT /connectors/<name>/config, DELETE, status) and records every request so tests can
check what register.sh sent. The end-to-end tests against a real worker live in tests/e2e.
"""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CONNECTOR_CLASS = "org.sinetstream.kafka.connect.s3.SinetStreamS3SinkConnector"
WORKER = "kafka-connect:8083"
# keys the connector's ConfigDef defines as Type.PASSWORD (validate answers say "type": "PASSWORD")
PASSWORD_KEYS = {"aws.secret.access.key", "sinetstream.crypto.password", "sinetstream.crypto.key",
                 "sinetstream.crypto.password.versions"}


class MockConnect:
    def __init__(self):
        self.connectors = {}  # name -> config
        self.requests = []  # (method, path, body text)
        self.plugin_installed = True
        self.validation_errors = {}  # config key -> [messages]
        self.task_state = "RUNNING"
        self.conflicts = 0  # answer this many write requests with 409 first
        self.put_error = None  # (status, message) for PUT /connectors/<name>/config
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()

    # -------------------------------------------------------------- answers

    def answer(self, method, path, body):
        parts = [p for p in path.split("?")[0].split("/") if p]
        if method == "GET" and not parts:
            return 200, {"version": "3.8.0", "commit": "771b9576b00ecf5b", "kafka_cluster_id": "mock"}
        if parts == ["connector-plugins"] and method == "GET":
            plugins = [{"class": CONNECTOR_CLASS, "type": "sink", "version": "0.1.0"}] if self.plugin_installed else []
            return 200, plugins
        if len(parts) == 4 and parts[0] == "connector-plugins" and parts[2:] == ["config", "validate"] and method == "PUT":
            return self.validate(parts[1], json.loads(body))
        if parts and parts[0] == "connectors":
            if method in ("PUT", "DELETE") and self.conflicts > 0:
                self.conflicts -= 1
                return 409, {"error_code": 409, "message": "Cannot complete request because of a conflicting operation (e.g. worker rebalance)"}
            if len(parts) == 1 and method == "GET":
                return 200, sorted(self.connectors)
            name = parts[1]
            if len(parts) == 3 and parts[2] == "config" and method == "PUT":
                if self.put_error:
                    return self.put_error[0], {"error_code": self.put_error[0], "message": self.put_error[1]}
                config = json.loads(body)
                created = name not in self.connectors
                self.connectors[name] = config
                return (201 if created else 200), {"name": name, "config": config, "tasks": [], "type": "sink"}
            if name not in self.connectors:
                return 404, {"error_code": 404, "message": "Connector %s not found" % name}
            if len(parts) == 2 and method == "GET":
                return 200, {"name": name, "config": self.connectors[name], "tasks": [{"connector": name, "task": 0}], "type": "sink"}
            if len(parts) == 2 and method == "DELETE":
                del self.connectors[name]
                return 204, None
            if len(parts) == 3 and parts[2] == "status" and method == "GET":
                task = {"id": 0, "state": self.task_state, "worker_id": WORKER}
                if self.task_state == "FAILED":
                    task["trace"] = "org.apache.kafka.connect.errors.ConnectException: S3 PUT failed: 403 Forbidden\n\tat org.sinetstream...\n"
                return 200, {"name": name, "connector": {"state": "RUNNING", "worker_id": WORKER}, "tasks": [task], "type": "sink"}
        return 404, {"error_code": 404, "message": "HTTP 404 Not Found"}

    def validate(self, plugin, config):
        if not self.plugin_installed or plugin != CONNECTOR_CLASS:
            return 400, {"error_code": 400, "message": "Failed to find any class that implements Connector and which name matches %s" % plugin}
        configs = []
        count = 0
        for key, value in config.items():
            errors = list(self.validation_errors.get(key, []))
            count += len(errors)
            configs.append({
                "definition": {"name": key, "type": "PASSWORD" if key in PASSWORD_KEYS else "STRING",
                               "required": False, "default_value": None,
                               "importance": "HIGH", "documentation": "doc of %s [see docs]" % key,
                               "group": "Common", "width": "LONG", "display_name": key,
                               "dependents": [], "order": 1},
                "value": {"name": key, "value": value, "recommended_values": [], "errors": errors, "visible": True},
            })
        for key, errors in self.validation_errors.items():
            if key not in config:
                count += len(errors)
                configs.append({
                    "definition": {"name": key, "type": "STRING", "required": True, "default_value": None,
                                   "importance": "HIGH", "documentation": "", "group": "S3", "width": "LONG",
                                   "display_name": key, "dependents": [], "order": 2},
                    "value": {"name": key, "value": None, "recommended_values": [], "errors": errors, "visible": True},
                })
        return 200, {"name": CONNECTOR_CLASS, "error_count": count, "groups": ["Common", "S3"], "configs": configs}

    def _handler(self):
        mock = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                with mock.lock:
                    mock.requests.append((self.command, self.path, body))
                    status, payload = mock.answer(self.command, self.path, body)
                data = b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_POST = do_DELETE = _serve

            def log_message(self, *args):
                pass

        return Handler
