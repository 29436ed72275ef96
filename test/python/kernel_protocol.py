"""Protocol checks for the dawnet kernel with the real Jupyter client (jupyter_client).

Run with JUPYTER_PATH pointing at a prefix holding the "dawnet" kernelspec. Each scenario
asserts; the script prints one JSON line {"results": [{"name", "ok", "detail"}]} so the uvu
test can report every scenario separately. Optional argument: scenario names to run.
"""
import json
import sys
import time
import traceback
from queue import Empty

from jupyter_client.manager import start_new_kernel

TIMEOUT = 30


class Session:
    def __init__(self):
        self.km, self.kc = start_new_kernel(kernel_name="dawnet", startup_timeout=60)

    def send(self, code, **kw):
        return self.kc.execute(code, **kw)

    def reply(self, msg_id, timeout=TIMEOUT):
        deadline = time.time() + timeout
        while True:
            msg = self.kc.get_shell_msg(timeout=max(0.1, deadline - time.time()))
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg

    def outputs(self, msg_id, timeout=TIMEOUT):
        """iopub messages for msg_id until its idle status (status messages left out)."""
        out = []
        deadline = time.time() + timeout
        while True:
            msg = self.kc.get_iopub_msg(timeout=max(0.1, deadline - time.time()))
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "status":
                if msg["content"]["execution_state"] == "idle":
                    return out
                continue
            out.append(msg)

    def run(self, code, timeout=TIMEOUT, **kw):
        msg_id = self.send(code, **kw)
        reply = self.reply(msg_id, timeout)
        return reply["content"], self.outputs(msg_id, timeout)

    def value(self, code):
        reply, outs = self.run(code)
        assert reply["status"] == "ok", (code, reply)
        results = [m["content"] for m in outs if m["msg_type"] == "execute_result"]
        assert len(results) == 1, (code, outs)
        return results[0]["data"]

    def close(self):
        self.kc.stop_channels()
        if self.km.is_alive():
            self.km.shutdown_kernel(now=True)


def by_type(outs, msg_type):
    return [m["content"] for m in outs if m["msg_type"] == msg_type]


# ---- scenarios: each takes a Session and asserts ----

def kernel_info(s):
    s.kc.kernel_info()
    reply = s.kc.get_shell_msg(timeout=TIMEOUT)
    while reply["msg_type"] != "kernel_info_reply":
        reply = s.kc.get_shell_msg(timeout=TIMEOUT)
    c = reply["content"]
    assert c["status"] == "ok", c
    assert c["implementation"] == "dawnet", c
    assert c["language_info"]["name"] == "typescript", c
    assert c["protocol_version"] == "5.3", c


def values(s):
    assert s.value("1 + 2") == {"text/plain": "3"}
    assert s.value('"abc"') == {"text/plain": "'abc'"}
    # `{data, metadata}` form with a JSON MIME type holding an object: one execute_result, all MIME types.
    msg_id = s.send(
        "({ [Symbol.for('jupyter.mimebundle')]() { return { data: { 'text/plain': 'chart', "
        "'application/vnd.vegalite.v5+json': { mark: 'bar' }, 'image/svg+xml': '<svg/>' }, "
        "metadata: { 'image/svg+xml': { isolated: true } } }; } })"
    )
    assert s.reply(msg_id)["content"]["status"] == "ok"
    results = by_type(s.outputs(msg_id), "execute_result")
    assert len(results) == 1, results
    assert results[0]["data"] == {
        "text/plain": "chart",
        "application/vnd.vegalite.v5+json": {"mark": "bar"},
        "image/svg+xml": "<svg/>",
    }, results[0]
    assert results[0]["metadata"] == {"image/svg+xml": {"isolated": True}}, results[0]
    # A mimebundle method returning a Promise (e.g. a GPU tensor reading its data) is awaited.
    data = s.value(
        "({ [Symbol.for('jupyter.mimebundle')]() { return new Promise((r) => setTimeout(() => "
        "r({ 'text/plain': 'tensor([1, 2])', 'text/html': '<table></table>' }), 20)); } })"
    )
    assert data == {"text/plain": "tensor([1, 2])", "text/html": "<table></table>"}, data
    # A Promise value is awaited; top-level await in expressions and for-await loops work.
    assert s.value("Promise.resolve(40 + 2)") == {"text/plain": "42"}
    assert s.value("await (async () => 7)()") == {"text/plain": "7"}
    reply, outs = s.run("for await (const v of (async function* () { yield 1; yield 2; })()) console.log(v)")
    assert reply["status"] == "ok", reply
    assert "".join(c["text"] for c in by_type(outs, "stream")) == "1\n2\n", outs
    # user_expressions are evaluated against the kernel's variables after the cell.
    msg_id = s.send("const answer: number = 42;", user_expressions={"a": "answer + 1", "b": "(answer as number).toFixed(1)", "c": "nope.x"})
    reply = s.reply(msg_id)["content"]
    s.outputs(msg_id)
    ue = reply["user_expressions"]
    assert ue["a"] == {"status": "ok", "data": {"text/plain": "43"}, "metadata": {}}, ue
    assert ue["b"]["data"] == {"text/plain": "'42.0'"}, ue
    assert ue["c"]["status"] == "error" and ue["c"]["ename"] == "ReferenceError", ue
    # Declarations carry over to later cells, with their types.
    s.value("const weights: number[] = [0.5, 1.5]; weights.length")
    assert s.value("weights.reduce((a, b) => a + b, 0)") == {"text/plain": "2"}


def errors(s):
    reply, outs = s.run("const ok = 1;\nconst bad: string = ok;")
    assert reply["status"] == "error", reply
    assert reply["ename"] == "TypeScriptError", reply
    assert reply["evalue"] == "2:7 - Type 'number' is not assignable to type 'string'.", reply["evalue"]
    errs = by_type(outs, "error")
    assert len(errs) == 1 and errs[0]["traceback"][0].startswith("2:7 - error TS2322"), errs
    reply, outs = s.run("function fail(): never { throw new RangeError('out of range: 5'); }\nfail()")
    assert reply["status"] == "error" and reply["ename"] == "RangeError", reply
    assert reply["evalue"] == "out of range: 5", reply
    assert reply["traceback"][0] == "RangeError: out of range: 5", reply["traceback"]
    assert any("fail" in line for line in reply["traceback"][1:]), reply["traceback"]
    # Names declared before a runtime error stay known to the type checker and the runtime.
    reply, _ = s.run("const survivor = 41;\nthrow new Error('after declaring')")
    assert reply["status"] == "error", reply
    assert s.value("survivor + 1") == {"text/plain": "42"}
    # A throw from background work is reported and does not end the kernel.
    reply, _ = s.run("setTimeout(() => { throw new Error('late failure'); }, 10); 'scheduled'")
    assert reply["status"] == "ok", reply
    time.sleep(0.3)
    assert s.value("'still alive'") == {"text/plain": "'still alive'"}


def stop_on_error(s):
    # The second request arrives while the first runs: it is aborted.
    first = s.send("await new Promise((r) => setTimeout(r, 300)); throw new Error('first fails')")
    second = s.send("'never runs'")
    assert s.reply(first)["content"]["status"] == "error"
    assert s.reply(second)["content"]["status"] == "aborted"
    # With stop_on_error=False the queued request runs.
    third = s.send("await new Promise((r) => setTimeout(r, 300)); throw new Error('third fails')", stop_on_error=False)
    fourth = s.send("'runs anyway'")
    assert s.reply(third)["content"]["status"] == "error"
    assert s.reply(fourth)["content"]["status"] == "ok"
    # Requests sent after the error reply are not aborted.
    fifth = s.send("throw new Error('fifth fails')")
    assert s.reply(fifth)["content"]["status"] == "error"
    sixth = s.send("'after the error'")
    assert s.reply(sixth)["content"]["status"] == "ok"


def display_updates(s):
    code = (
        "const bundle = (text: string) => ({ [Symbol.for('jupyter.mimebundle')]() {"
        " return { 'text/plain': text, 'text/html': `<b>${text}</b>` }; } });\n"
        "const handle = display(bundle('epoch 1'));\n"
        "await handle.update(bundle('epoch 2'));\n"
        "handle.displayId"
    )
    reply, outs = s.run(code)
    assert reply["status"] == "ok", reply
    shown = [m for m in outs if m["msg_type"] in ("display_data", "update_display_data")]
    assert [m["msg_type"] for m in shown] == ["display_data", "update_display_data"], outs
    display_id = shown[0]["content"]["transient"]["display_id"]
    assert shown[1]["content"]["transient"]["display_id"] == display_id
    assert shown[0]["content"]["data"] == {"text/plain": "epoch 1", "text/html": "<b>epoch 1</b>"}
    assert shown[1]["content"]["data"] == {"text/plain": "epoch 2", "text/html": "<b>epoch 2</b>"}
    assert by_type(outs, "execute_result")[0]["data"]["text/plain"] == repr(display_id)
    # A cell ending in display(x) shows x once: the handle is not its value.
    reply, outs = s.run("display(bundle('once'))")
    assert [m["msg_type"] for m in outs if m["msg_type"] != "execute_input"] == ["display_data"], outs
    # Library code reaches the same bridge without importing the kernel; updateDisplay by id works across cells.
    reply, outs = s.run(
        "const bridge = (globalThis as any)[Symbol.for('dawnet.display')];\n"
        "bridge.display(bundle('live'), { displayId: 'train-1' });\n"
        "bridge.clearOutput(true);\n"
        "await updateDisplay('train-1', bundle('done'));"
    )
    assert reply["status"] == "ok", reply
    assert [m["msg_type"] for m in outs if m["msg_type"] != "execute_input"] == [
        "display_data", "clear_output", "update_display_data"], outs
    assert by_type(outs, "display_data")[0]["transient"] == {"display_id": "train-1"}
    assert by_type(outs, "clear_output")[0] == {"wait": True}
    assert by_type(outs, "update_display_data")[0]["data"]["text/plain"] == "done"


def interrupt_async_loop(s):
    # A training-style loop that polls the interrupt flag each step stops after the current step.
    msg_id = s.send(
        "let steps = 0;\n"
        "const flag = Symbol.for('dawnet.interrupt');\n"
        "while (!(globalThis as any)[flag]) { steps++; await new Promise((r) => setTimeout(r, 5)); }\n"
        "'stopped'"
    )
    time.sleep(1.0)
    s.km.interrupt_kernel()
    reply = s.reply(msg_id)["content"]
    assert reply["status"] == "error" and reply["ename"] == "Interrupted", reply
    assert "background" not in reply["evalue"], "the polling loop did not stop within the grace period"
    outs = s.outputs(msg_id)
    assert len(by_type(outs, "error")) == 1, outs
    first = s.value("steps")["text/plain"]
    time.sleep(0.2)
    assert s.value("steps")["text/plain"] == first, "the loop kept running after the interrupt"
    assert int(first) > 10, first
    assert s.value("(globalThis as any)[Symbol.for('dawnet.interrupt')]") == {"text/plain": "false"}


def interrupt_ignoring_loop(s):
    # A loop that never looks at the flag is abandoned after the grace period; the next cell runs.
    msg_id = s.send("while (true) { await new Promise((r) => setTimeout(r, 10)); }")
    time.sleep(0.5)
    s.km.interrupt_kernel()
    reply = s.reply(msg_id, timeout=10)["content"]
    assert reply["status"] == "error" and reply["ename"] == "Interrupted", reply
    assert s.value("'next cell'") == {"text/plain": "'next cell'"}


def interrupt_sync_loop(s):
    msg_id = s.send("let spins = 0;\nwhile (true) { spins++; }")
    time.sleep(0.5)
    s.km.interrupt_kernel()
    reply = s.reply(msg_id, timeout=10)["content"]
    assert reply["status"] == "error" and reply["ename"] == "Interrupted", reply
    assert s.value("1 + 1") == {"text/plain": "2"}


def dawnet_import(s):
    reply, outs = s.run("typeof dn")
    if reply["status"] != "ok" or by_type(outs, "execute_result")[0]["data"]["text/plain"] != "'object'":
        raise SkipScenario("dawnet did not load in the kernel (dist/lib/index.js missing or failing)")
    reply, outs = s.run('import * as lib from "dawnet";\nconst t = lib.tensor([1, 2, 3]);\nt.shape')
    assert reply["status"] == "ok", reply
    assert by_type(outs, "execute_result")[0]["data"]["text/plain"] == "[ 3 ]", outs
    reply, outs = s.run("const u = tensor([[1, 2], [3, 4]]);\nawait u.sum().item()")
    assert reply["status"] == "ok", reply
    assert by_type(outs, "execute_result")[0]["data"]["text/plain"] == "10", outs
    data = s.value("u")
    assert "text/plain" in data, data


def interrupt_fit(s):
    # The library's fit() shows one live output and stops at the kernel's interrupt flag after a step.
    reply, outs = s.run("typeof Sequential === 'function' && typeof Dense === 'function'")
    if reply["status"] != "ok" or by_type(outs, "execute_result")[0]["data"]["text/plain"] != "true":
        raise SkipScenario("dawnet's Sequential/Dense are not loaded in the kernel")
    s.value(
        "manualSeed(0);\nconst fx = randn([256, 8]), fy = randn([256, 1]);\n"
        "const fm = new Sequential([new Dense(16, { inputDim: 8, activation: 'relu' }), new Dense(1)]);\n"
        "fm.compile({ optimizer: 'adam', loss: 'mse' }); 1"
    )
    msg_id = s.send("await fm.fit(fx, fy, { epochs: 100000, batchSize: 8 });\n'finished'")
    time.sleep(2.0)
    s.km.interrupt_kernel()
    reply = s.reply(msg_id)["content"]
    assert reply["status"] == "error" and reply["ename"] == "Interrupted", reply
    assert "background" not in reply["evalue"], "fit did not stop within the grace period: " + reply["evalue"]
    outs = s.outputs(msg_id)
    shown = [m for m in outs if m["msg_type"] in ("display_data", "update_display_data")]
    assert [m["msg_type"] for m in shown][:1] == ["display_data"], [m["msg_type"] for m in outs]
    assert by_type(outs, "display_data").__len__() == 1, "fit should show one live output"
    ids = {m["content"]["transient"]["display_id"] for m in shown}
    assert len(ids) == 1, ids
    assert s.value("fm.layers.length") == {"text/plain": "2"}


def restart(s):
    s.value("(globalThis as any).marker = 'before restart'; 1")
    s.km.restart_kernel(now=False)
    s.kc.wait_for_ready(timeout=60)
    assert s.value("(globalThis as any).marker === undefined") == {"text/plain": "true"}


def shutdown(s):
    s.kc.shutdown()  # jupyter_client 7 sends it on the control channel
    reply = s.kc.get_control_msg(timeout=TIMEOUT)
    while reply["msg_type"] != "shutdown_reply":
        reply = s.kc.get_control_msg(timeout=TIMEOUT)
    assert reply["content"]["status"] == "ok" and reply["content"]["restart"] is False, reply
    deadline = time.time() + 10
    while s.km.is_alive() and time.time() < deadline:
        time.sleep(0.1)
    assert not s.km.is_alive(), "the kernel process did not exit after shutdown_request"


class SkipScenario(Exception):
    pass


SCENARIOS = [kernel_info, values, errors, stop_on_error, display_updates, interrupt_async_loop,
             interrupt_ignoring_loop, interrupt_sync_loop, dawnet_import, interrupt_fit, restart, shutdown]

if __name__ == "__main__":
    wanted = set(sys.argv[1:])
    results = []
    session = Session()
    try:
        for scenario in SCENARIOS:
            if wanted and scenario.__name__ not in wanted:
                continue
            started = time.time()
            try:
                scenario(session)
                results.append({"name": scenario.__name__, "ok": True, "seconds": round(time.time() - started, 3)})
            except SkipScenario as skip:
                results.append({"name": scenario.__name__, "ok": None, "detail": str(skip)})
            except (AssertionError, Empty, RuntimeError) as err:
                results.append({"name": scenario.__name__, "ok": False, "detail": traceback.format_exc()})
    finally:
        session.close()
    print(json.dumps({"results": results}))
