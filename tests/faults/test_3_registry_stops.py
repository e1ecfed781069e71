"""Item 1: the registry stops half-way through a pull of the large lab model (qwen2.5:3b, ~300 MiB).
Ollama's downloads are slowed to 64 Mbit/s inside the lab host (tbf on the private network's
bridge) so that half-way is ~20 s in; at >= 45 % of the model layer on disk the lab registry
container is stopped. The play must fail in bounded time naming host, model and cause, list no
half model; after `docker start` of the registry a re-run completes, and the registry's access
log (this host's requests only) shows < 1.2x the model's size served in all."""
import time

import faultlab as fl

PLAY_BOUND = 300        # the failing play must end within this many seconds of the registry stopping


def test_registry_stops_mid_pull(lab, figure, tmp_path):
    f = figure("1 registry stops mid-pull", "pull %s at 64 Mbit/s; `docker stop %s` at ~50 %% of the model layer; "
               "re-run after `docker start`" % (fl.BIG_MODEL, fl.REGISTRY_CONTAINER))
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
    t0 = time.time()
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
            fl.sh(["docker", "stop", "-t", "2", fl.REGISTRY_CONTAINER], timeout=60)
            at_stop = fl.file_bytes(fl.HOST, partial)
        try:
            res = fl.finish_play(proc, timeout=(time.monotonic() - proc.started) + PLAY_BOUND)
            time_to_fail = time.monotonic() - stopped_at
            listed = fl.model_set(fl.HOST)
            on_disk = fl.file_bytes(fl.HOST, partial)
        finally:
            fl.sh(["docker", "start", fl.REGISTRY_CONTAINER], timeout=60)
            _, back = fl.wait_until(fl.registry_answers, 60, "the lab registry to answer again")
        stopped_for = time.monotonic() - stopped_at
        fail_pct = 100.0 * on_disk / layer["size"]
        f.add("stopped at", "%.0f %% of the model layer" % (100.0 * at_stop / layer["size"]))
        f.add("time to fail after the stop", "%.0f s (bound %d s)" % (time_to_fail, PLAY_BOUND))
        f.add("registry down", "%.0f s" % stopped_for)
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
    served, requests = fl.blob_bytes(fl.registry_log_since(t0 - 1), digests={b["digest"] for b in blobs}, client=ip)
    ratio = received / model_size
    f.add("re-run", "%.0f s, changed=%d" % (res2.seconds, res2.changed()))
    f.add("bytes received by the Ollama container (both runs, network counter) / model size",
          "%d / %d = %.3f" % (received, model_size, ratio))
    f.add("registry access log, completed blob requests", "%d bytes in %d requests (the interrupted one is never "
          "logged; the resumed Range request served %.0f %% of the layer)" % (served, requests,
                                                                        100.0 * served / layer["size"]))
    assert ratio < 1.2, "the partial download was not resumed: %.2fx the model's size received" % ratio
    # The completed requests after the stop served only what was missing.
    assert served < (1.0 - 0.4) * model_size
