"""Item 9: an operator's bad day on a host whose engine data survived while its configuration did not (a server
re-installed on its old data disk, or /etc/llmops deleted).

- A container restarting in a loop when a run starts (the front door, its configuration gone): the run repairs it
  and says so, instead of failing on `docker exec` into a restarting container.
- Configuration and secrets lost, data kept: the run stops in preflight, before anything changes, naming the lost
  files and how to put them back; the secrets restored from the backup, the run converges with the conversation and
  the models still there.

The lab host's usual converge gives LobeHub's secrets as vault variables would; here they are left empty, so that the
role must rely on the files it kept, as most operators' runs do.
"""
import faultlab as fl

MARKER = "faults-lost-configuration"
DB = ["exec", "lobechat-postgres", "psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-U", "postgres",
      "-d", "lobechat", "-c"]
NO_VAULT = {"lobechat_admin_password": "", "lobechat_auth_secret": "", "lobechat_key_vaults_secret": "",
            "lobechat_postgres_password": ""}


def _sql(query):
    return fl.inner_docker(fl.HOST, *DB, query).stdout.strip()


def test_a_container_restarting_in_a_loop_is_repaired_by_the_run(lab, figure, tmp_path):
    f = figure("9 crash loop at the start of a run", "the front door's configuration removed and the container "
               "restarted, so that it restarts in a loop; then site.yml")
    fl.in_host(fl.HOST, "rm -rf /etc/llmops/front-door")
    fl.inner_docker(fl.HOST, "restart", "front-door")
    state, seconds = fl.wait_until(
        lambda: "restarting" in fl.health(fl.HOST, "front-door") and fl.health(fl.HOST, "front-door"), 60,
        "the front door to restart in a loop")
    f.add("before the run", state)
    res = lab.converge(timeout=600, log=str(tmp_path / "repair.log"))
    f.add("site.yml", "rc=%d, %.0f s, changed=%s" % (res.rc, res.seconds, res.recap.get(fl.HOST, {}).get("changed")))
    assert res.rc == 0, res.tail(80)
    said = [line for line in res.output.splitlines() if "front-door was restarting in a loop" in line]
    assert said, "the run did not say that it repaired the front door:\n" + res.tail(80)
    f.add("what the run said", said[0].strip().strip('"')[:200])
    after = fl.health(fl.HOST, "front-door")
    f.add("after the run", after)
    assert after.startswith("running"), after
    again = lab.converge(timeout=600, log=str(tmp_path / "again.log"))
    f.add("next run", "changed=%d" % again.changed())
    assert again.rc == 0 and again.changed() == 0, again.tail(60)


def test_secrets_lost_with_data_kept_stop_in_preflight_and_a_restore_brings_everything_back(lab, figure, tmp_path):
    f = figure("9 configuration and secrets lost, data kept", "a conversation and the models on the host, a backup "
               "(dump and secrets), /etc/llmops removed; site.yml with no vault variables, then the secrets restored "
               "from the backup and site.yml again")
    admin = lab.ADMIN_EMAIL
    _sql("DELETE FROM messages WHERE id = '%s'" % MARKER)
    _sql("INSERT INTO messages (id, role, content, user_id) SELECT '%s', 'user', '什么是大语言模型？', id FROM users "
         "WHERE email = '%s'" % (MARKER, admin))
    models = fl.model_set(fl.HOST)
    backup = fl.run_play(lab.vars, playbook="playbooks/lobechat_backup.yml", log=str(tmp_path / "backup.log"))
    assert backup.rc == 0, backup.tail(60)
    secrets_tar = fl.in_host(fl.HOST, "ls -1t /var/backups/llmops/lobechat/*.secrets.tar | head -1").stdout.strip()
    mode = fl.in_host(fl.HOST, "stat -c %a " + secrets_tar).stdout.strip()
    f.add("backup", "%s, mode %s" % (secrets_tar.rsplit("/", 1)[-1], mode))
    assert mode == "600"

    fl.in_host(fl.HOST, "rm -rf /etc/llmops")
    ids = {name: fl.container_id(fl.HOST, name) for name in ("lobechat", "lobechat-postgres", "ollama")}
    stopped = lab.converge(dict(NO_VAULT), timeout=600, log=str(tmp_path / "stopped.log"))
    msg = " ".join(stopped.fatal_msgs())
    f.add("site.yml without the secrets", "rc=%d after %.0f s, changed=%s" % (
        stopped.rc, stopped.seconds, stopped.recap.get(fl.HOST, {}).get("changed")))
    f.add("failing task", (stopped.failing_task() or "").strip("TASK []*"))
    f.add("message", msg[:300] + "...")
    assert stopped.rc != 0 and stopped.changed() == 0, stopped.tail(60)
    assert "Stop before anything changes" in (stopped.failing_task() or ""), stopped.tail(60)
    for words in ("/etc/llmops/lobechat/postgres-password", "/etc/llmops/lobechat/key-vaults-secret",
                  "lobechat_new_key_vaults_secret: true", "lobechat_restore_secrets"):
        assert words in msg, (words, msg)
    assert {name: fl.container_id(fl.HOST, name) for name in ids} == ids, "a container changed before the refusal"

    restore = fl.run_play(dict(lab.vars, lobechat_restore_secrets=secrets_tar),
                          playbook="playbooks/lobechat_restore.yml", log=str(tmp_path / "restore.log"))
    f.add("secrets restored", "rc=%d, %.0f s" % (restore.rc, restore.seconds))
    assert restore.rc == 0, restore.tail(60)
    back = lab.converge(dict(NO_VAULT), timeout=900, log=str(tmp_path / "back.log"))
    f.add("site.yml after the restore", "rc=%d, %.0f s, changed=%s" % (
        back.rc, back.seconds, back.recap.get(fl.HOST, {}).get("changed")))
    assert back.rc == 0, back.tail(80)
    fl.wait_until(lambda: fl.both_healthy(fl.HOST), 120, "both containers healthy after the restore")
    kept = _sql("SELECT content FROM messages WHERE id = '%s'" % MARKER)
    f.add("conversation", "kept" if kept else "LOST")
    f.add("models", "%d of %d kept" % (len(set(fl.model_set(fl.HOST).items()) & set(models.items())), len(models)))
    assert kept == "什么是大语言模型？"
    assert fl.model_set(fl.HOST) == models
    # The database still accepts the password the files hold: LobeHub's own sign-in works with the kept password.
    password = fl.in_host(fl.HOST, "cat /etc/llmops/lobechat/admin-password").stdout.strip()
    assert password == lab.ADMIN_PASSWORD
