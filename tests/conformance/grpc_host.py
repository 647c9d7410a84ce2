"""The test plays the Functions host: a gRPC FunctionRpc server, the real worker.py as its client.

As the host does: start `worker.py --host --port --workerId --requestId --grpcMaxMessageLength`, wait for
StartStream, send WorkerInitRequest, FunctionsMetadataRequest, one FunctionLoadRequest per function, then
InvocationRequests; replies are matched by request kind and id. The worker's RpcLog messages are kept.
"""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc

STARTUP_TIMEOUT = 60.0
CALL_TIMEOUT = 60.0


def worker_protos(worker_dir: Path) -> Any:
    """The worker's generated protos package (the same classes the worker speaks)."""
    if str(worker_dir) not in sys.path:
        sys.path.append(str(worker_dir))
    from azure_functions_worker import protos

    return protos


class WorkerHost:
    """One real worker process attached to this in-test host."""

    def __init__(self, worker_dir: Path, app_dir: Path, env: dict[str, str], log_path: Path) -> None:
        self.protos = worker_protos(worker_dir)
        self.worker_dir = worker_dir
        self.app_dir = app_dir
        self.env = env
        self.log_path = log_path
        self.logs: list[str] = []
        self._inbox: queue.Queue[Any] = queue.Queue()
        self._outbox: queue.Queue[Any] = queue.Queue()
        self._server: grpc.Server | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self.metadata: list[Any] = []
        self.function_ids: dict[str, str] = {}

    # -- gRPC server side ------------------------------------------------------------------------------------
    def _event_stream(self, requests: Iterator[Any], context: Any) -> Iterator[Any]:
        def read() -> None:
            try:
                for message in requests:
                    self._inbox.put(message)
            except grpc.RpcError:
                pass
            self._inbox.put(None)

        threading.Thread(target=read, daemon=True).start()
        while (message := self._outbox.get()) is not None:
            yield message

    def start(self) -> WorkerHost:
        protos = self.protos

        class Servicer(protos.FunctionRpcServicer):  # type: ignore[name-defined]
            EventStream = staticmethod(self._event_stream)

        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        protos.add_FunctionRpcServicer_to_server(Servicer(), self._server)
        port = self._server.add_insecure_port("127.0.0.1:0")
        self._server.start()
        command = [
            sys.executable,
            str(self.worker_dir / "worker.py"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workerId",
            str(uuid.uuid4()),
            "--requestId",
            str(uuid.uuid4()),
            "--grpcMaxMessageLength",
            str(2**31 - 1),
        ]
        env = {**self.env, "AzureWebJobsScriptRoot": str(self.app_dir)}
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(command, cwd=self.app_dir, env=env, stdout=log, stderr=subprocess.STDOUT)
        self._expect("start_stream", timeout=STARTUP_TIMEOUT)
        return self

    def stop(self) -> None:
        self._outbox.put(None)
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(10)
        if self._server is not None:
            self._server.stop(grace=None)

    # -- protocol --------------------------------------------------------------------------------------------
    def _send(self, **message: Any) -> None:
        self._outbox.put(self.protos.StreamingMessage(request_id=str(uuid.uuid4()), **message))

    def _expect(self, kind: str, timeout: float = CALL_TIMEOUT, match: Any = None) -> Any:
        while True:
            try:
                message = self._inbox.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no {kind} from the worker within {timeout} s:\n{self.output()}") from None
            if message is None:
                raise AssertionError(f"the worker closed the stream:\n{self.output()}")
            got = message.WhichOneof("content")
            if got == "rpc_log":
                self.logs.append(message.rpc_log.message)
                continue
            if got == kind and (match is None or match(getattr(message, kind))):
                return getattr(message, kind)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def index_and_load(self) -> list[Any]:
        """WorkerInit + metadata + one load per function; returns the RpcFunctionMetadata list."""
        protos = self.protos
        self._send(
            worker_init_request=protos.WorkerInitRequest(
                host_version="4.1040.0",
                worker_directory=str(self.worker_dir),
                function_app_directory=str(self.app_dir),
            )
        )
        init = self._expect("worker_init_response", timeout=STARTUP_TIMEOUT)
        assert init.result.status == protos.StatusResult.Success, init.result.exception.message
        self._send(functions_metadata_request=protos.FunctionsMetadataRequest(function_app_directory=str(self.app_dir)))
        response = self._expect("function_metadata_response", timeout=STARTUP_TIMEOUT)
        if response.result.status != protos.StatusResult.Success:
            raise AssertionError(f"the worker refused to index: {response.result.exception.message}")
        self.metadata = list(response.function_metadata_results)
        for metadata in self.metadata:
            self._send(
                function_load_request=protos.FunctionLoadRequest(function_id=metadata.function_id, metadata=metadata)
            )
            loaded = self._expect(
                "function_load_response", match=lambda r, fid=metadata.function_id: r.function_id == fid
            )
            assert loaded.result.status == protos.StatusResult.Success, (metadata.name, loaded.result.exception.message)
            self.function_ids[metadata.name] = metadata.function_id
        return self.metadata

    def invoke(
        self, function_name: str, input_data: dict[str, Any], trigger_metadata: dict[str, Any] | None = None
    ) -> Any:
        """One InvocationRequest; returns the InvocationResponse (result, return_value, output_data)."""
        protos = self.protos
        invocation_id = str(uuid.uuid4())
        self._send(
            invocation_request=protos.InvocationRequest(
                invocation_id=invocation_id,
                function_id=self.function_ids[function_name],
                input_data=[protos.ParameterBinding(name=name, data=data) for name, data in input_data.items()],
                trigger_metadata=trigger_metadata or {},
            )
        )
        return self._expect("invocation_response", match=lambda r: r.invocation_id == invocation_id)
