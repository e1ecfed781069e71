"""Item 1: the registry stops answering half-way through a pull of the large lab model (qwen2.5:3b, ~300 MiB).
Ollama's downloads are slowed to 64 Mbit/s inside the lab host (tbf on the private network's
bridge) so that half-way is ~20 s in; at >= 45 % of the model layer on disk the registry and its blob
host go away for this host: the host's FORWARD chain answers every packet between them and its
containers with a TCP reset, both ways, which is what a client sees of a stopped registry (the
connection in flight reset, new ones refused). The shared lab registry keeps serving the tests that
run beside this one (make test runs the molecule scenarios at the same time). The play must fail in
bounded time naming host, model and cause, list no half model; once the rules are gone a re-run
completes, and the registry's access log (this host's requests once it was back) shows the re-run
fetched only what was missing."""
import time

import faultlab as fl

PLAY_BOUND = 300        # the failing play must end within this many seconds of the registry stopping


def _cut_off(host, insert):
    """Reset every TCP packet between the host's containers and the registry and its blob host, or take the rules
    away again. -I puts them ahead of everything else in FORWARD (the engine's chains and the LAN filter)."""
    rules = ["FORWARD %s %s -p tcp -j REJECT --reject-with tcp-reset" % (way, fl.host_ip(name))
             for name in (fl.REGISTRY_CONTAINER, fl.BLOBS_CONTAINER) for way in ("-d", "-s")]
    script = "; ".join(("iptables -I %s" if insert else "iptables -D %s 2>/dev/null || true") % r for r in rules)
    fl.in_host(host, script, check=insert)


def test_registry_stops_mid_pull(lab, figure, tmp_path):
    f = figure("1 registry stops mid-pull", "pull %s at 64 Mbit/s; at ~50 %% of the model layer the registry and its blob host "
               "reset every connection from this host (iptables REJECT --reject-with tcp-reset, both ways); re-run "
               "once the rules are gone" % fl.BIG_MODEL)
    manifest, digest = fl.registry_manifest(fl.BIG_MODEL)
    blobs = [manifest["config"]] + manifest["layers"]
    model_size = sum(b["size"] for b in blobs)
    layer = max(manifest["layers"], key=lambda b: b["size"])
    partial = "/var/lib/ollama/models/blobs/%s-partial" % layer["digest"].replace(":", "-")
    ip = fl.host_ip(fl.HOST)
    assert fl.BIG_MODEL not in fl.model_set(fl.HOST), "the host has the large model already"
    models = lab.vars["ollama_models_list"] + [{"name": fl.BIG_MODEL}]
    fl.in_host(fl.HOST, "rm -f %s*" % partial)   # start from zero bytes

    fl.throttle(fl.HOST)
    rx0 = fl.rx_bytes(fl.HOST)
    try:
        proc = fl.start_play({"ollama_models_list": models, **{k: v for k, v in lab.vars.items()
                                                              if k != "ollama_models_list"}},
                             log=str(tmp_path / "interrupted.log"))
        try:
            fl.wait_until(lambda: fl.file_bytes(fl.HOST, partial) >= 0.45 * layer["size"], 240,
                          "the pull to reach 45 %", interval=0.5)
        finally:
            stopped_at = time.monotonic()
            _cut_off(fl.HOST, insert=True)
            at_stop = fl.file_bytes(fl.HOST, partial)
        try:
            res = fl.finish_play(proc, timeout=(time.monotonic() - proc.started) + PLAY_BOUND)
            time_to_fail = time.monotonic() - stopped_at
            listed = fl.model_set(fl.HOST)
            on_disk = fl.file_bytes(fl.HOST, partial)
        finally:
            _cut_off(fl.HOST, insert=False)
        back_at = time.time()
        stopped_for = time.monotonic() - stopped_at
        fail_pct = 100.0 * on_disk / layer["size"]
        f.add("stopped at", "%.0f %% of the model layer" % (100.0 * at_stop / layer["size"]))
        f.add("time to fail after the cut", "%.0f s (bound %d s)" % (time_to_fail, PLAY_BOUND))
        f.add("registry cut off", "%.0f s" % stopped_for)
        msgs = res.fatal_msgs()
        f.add("message", (msgs[0][:160] + "...") if msgs else "-")
        assert res.rc != 0 and res.failed() == 1, res.tail(60)
        fatal_lines = [line for line in res.output.splitlines() if line.startswith("fatal:")]
        assert any("[%s]" % fl.HOST in line for line in fatal_lines), fatal_lines
        text = " ".join(msgs)
        assert fl.BIG_MODEL in text, "the message does not name the model: %s" % text
        assert any(word in text.lower() for word in ("refused", "unreachable", "connection", "registry",
                                                     "timed out", "reset", "no route", "errno")), "no cause in: %s" % text
        assert fl.BIG_MODEL not in listed, "a half model is listed: %s" % listed
        f.add("partial kept on disk", "%.0f %%" % fail_pct)

        # The registry is back: the re-run (full speed) resumes the partial download.
        fl.unthrottle(fl.HOST)
        res2 = lab.converge({"ollama_models_list": models}, timeout=600, log=str(tmp_path / "resumed.log"))
    finally:
        fl.unthrottle(fl.HOST)
    assert res2.rc == 0, res2.tail(60)
    lab.vars["ollama_models_list"] = models
    have = fl.model_set(fl.HOST)
    assert have.get(fl.BIG_MODEL) == digest, have
    received = fl.rx_bytes(fl.HOST) - rx0
    # The request that was reset is logged as it ended, before the registry came back: what counts is what
    # the re-run fetched.
    served, requests = fl.blob_bytes(fl.registry_log_since(back_at), digests={b["digest"] for b in blobs}, client=ip)
    ratio = received / model_size
    f.add("re-run", "%.0f s, changed=%d" % (res2.seconds, res2.changed()))
    f.add("bytes received by the Ollama container (both runs, network counter) / model size",
          "%d / %d = %.3f" % (received, model_size, ratio))
    f.add("registry access log once it was back, blob requests", "%d bytes in %d requests (the resumed Range "
          "request served %.0f %% of the layer)" % (served, requests, 100.0 * served / layer["size"]))
    assert ratio < 1.2, "the partial download was not resumed: %.2fx the model's size received" % ratio
    # The requests after the registry came back served only what was missing.
    assert served < (1.0 - 0.4) * model_size
