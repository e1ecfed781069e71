"""Every role's meta/argument_specs.yml must match its defaults/main.yml: the same variables, the
same default values, each option typed and described. The image tags the roles default to must
be the ones the lab publishes (lab/versions.env), so the lab tests what users get."""

import pathlib

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "tasks" / "main.yml").is_file())
EXPECTED_ROLES = ["_container", "api_guard", "container_runtime", "front_door", "lobechat", "ollama", "ollama_models", "open_webui", "preflight",
                  "report"]


def load(path):
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh) or {}


def spec_options(role):
    specs = load(ROOT / "roles" / role / "meta" / "argument_specs.yml")["argument_specs"]
    if role.startswith("_"):
        # A private role is included with tasks_from; its variables are those of all its entry points.
        options = {}
        for entry in specs.values():
            options.update(entry.get("options") or {})
        return options
    return specs["main"]["options"]


def defaults(role):
    return load(ROOT / "roles" / role / "defaults" / "main.yml")


def versions():
    env = {}
    for line in (ROOT / "lab" / "versions.env").read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, value = line.split("=", 1)
            env[key.strip()] = value.strip().strip('"')
    return env


def test_every_role_is_checked():
    assert ROLES == EXPECTED_ROLES


@pytest.mark.parametrize("role", ROLES)
def test_spec_names_the_same_variables_as_defaults(role):
    if role.startswith("_"):
        # A private role's required inputs have no default.
        assert set(defaults(role)) <= set(spec_options(role))
        return
    assert sorted(spec_options(role)) == sorted(defaults(role))


@pytest.mark.parametrize("role", ROLES)
def test_spec_defaults_equal_defaults(role):
    options, values = spec_options(role), defaults(role)
    differing = {name: (options[name].get("default"), values[name]) for name in options
                 if name in values and options[name].get("default") != values[name]}
    assert differing == {}


@pytest.mark.parametrize("role", ROLES)
def test_every_option_is_typed_described_and_prefixed(role):
    for name, option in spec_options(role).items():
        assert name.startswith(role + "_"), name
        assert option.get("type"), name
        assert option.get("description"), name
        if "choices" in option and not option.get("required"):
            assert option["default"] in option["choices"] or option["default"].startswith("{{"), name


def test_default_image_tags_are_the_lab_tags():
    env = versions()
    assert defaults("ollama")["ollama_image_tag"] == env["OLLAMA_DEFAULT_TAG"]
    # The lobechat role runs LobeHub 2.x; the lab's 2.x stand-in is published under the same tag.
    assert defaults("lobechat")["lobechat_image_tag"] == env["LOBEHUB_TAG"]
    assert defaults("front_door")["front_door_image_tag"] == env["NGINX_TAG"]
    assert defaults("open_webui")["open_webui_image_tag"] == env["OPEN_WEBUI_TAG"]
    assert defaults("api_guard")["api_guard_image_tag"] == env["NGINX_TAG"]
    assert env["OLLAMA_DEFAULT_TAG"] in env["OLLAMA_TAGS"].split()


def _release(tag):
    return tuple(int(part) for part in tag.lstrip("v").split("."))


def _advisories():
    return yaml.safe_load((ROOT / "meta" / "advisories.yml").read_text(encoding="utf-8"))["components"]


def test_the_lab_publishes_an_old_release_below_the_floor_and_the_default():
    # The upgrade and rollback tests move between the lab's two tags: the default (the newest, at or above the floor
    # of meta/advisories.yml) and 0.32.15, the default before issue 26, which the floor now refuses (the tests set
    # ollama_allow_unsafe_version to go back to it).
    env = versions()
    floor = _advisories()["ollama"]["floor"]
    tags = env["OLLAMA_TAGS"].split()
    assert tags == ["0.32.15", env["OLLAMA_DEFAULT_TAG"]]
    assert _release(tags[0]) < _release(floor) <= _release(env["OLLAMA_DEFAULT_TAG"])
    assert max(tags, key=_release) == env["OLLAMA_DEFAULT_TAG"]


def test_the_lab_tags_are_the_defaults_of_the_advisories_data():
    env, data = versions(), _advisories()
    assert env["OLLAMA_DEFAULT_TAG"] == data["ollama"]["default"]
    assert env["LOBEHUB_TAG"] == data["lobehub"]["default"]
    assert env["NGINX_TAG"] == data["nginx"]["default"]
    assert env["OPEN_WEBUI_TAG"] == data["open_webui"]["default"]
    assert env["REDIS_TAG"] == data["redis"]["default"] == defaults("lobechat")["lobechat_redis_image_tag"]


def test_every_role_that_runs_a_container_can_pin_its_image_by_digest():
    with_images = sorted(role for role in ROLES if "%s_image_repository" % role in defaults(role))
    assert {"api_guard", "front_door", "lobechat", "ollama", "open_webui"} <= set(with_images)
    for role in with_images:
        assert defaults(role)["%s_image_digest" % role] == ""
        assert "sha256:" in str(spec_options(role)["%s_image_digest" % role]["description"])
    # A role that runs more than one image can pin each of them.
    for role in ROLES:
        for name in defaults(role):
            if name.endswith("_image_repository"):
                digest = name[:-len("_repository")] + "_digest"
                assert defaults(role).get(digest) == "", digest
                assert "sha256:" in str(spec_options(role)[digest]["description"]), digest


def test_real_users_get_the_upstream_images():
    assert defaults("ollama")["ollama_image_repository"] == "docker.io/ollama/ollama"
    assert defaults("lobechat")["lobechat_image_repository"] == "docker.io/lobehub/lobehub"
    # LobeHub 2.2's migrations need pg_search: ParadeDB's image for users (the lab overrides it, docs/lobehub-2.md).
    assert defaults("lobechat")["lobechat_postgres_image_repository"] == "docker.io/paradedb/paradedb"
    assert defaults("lobechat")["lobechat_postgres_image_tag"].endswith("-pg17")
    assert defaults("lobechat")["lobechat_postgres_preload_libraries"] == ["pg_search"]
    assert defaults("lobechat")["lobechat_redis_image_repository"] == "docker.io/library/redis"
    assert defaults("front_door")["front_door_image_repository"] == "docker.io/library/nginx"
    assert defaults("open_webui")["open_webui_image_repository"] == "ghcr.io/open-webui/open-webui"
    assert defaults("api_guard")["api_guard_image_repository"] == "docker.io/library/nginx"
