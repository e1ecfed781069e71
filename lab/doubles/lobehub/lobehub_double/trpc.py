"""The few tRPC procedures of /trpc/lambda a browser uses to chat, with tRPC v11's HTTP shapes and
superjson encoding (src/libs/trpc/client/lambda.ts: httpLink/httpBatchLink, transformer
superjson).

Procedures (lobehub src/server/routers/lambda/): config.getGlobalConfig (public; the model list
from OLLAMA_MODEL_LIST as src/server/globalConfig builds it), agent.getBuiltinAgent (the inbox
agent, made on first use), aiChat.sendMessageInServer (topic, user message and assistant
placeholder rows, as aiChat.ts does), message.update (the assistant's answer once streamed),
message.getMessages and message.count. Everything else answers NOT_FOUND.
"""

import json
import urllib.parse

from . import util

LOADING_FLAT = "..."  # @/const/message: the assistant placeholder's content
CODES = {"PARSE_ERROR": (-32700, 400), "BAD_REQUEST": (-32600, 400),
         "UNAUTHORIZED": (-32001, 401), "FORBIDDEN": (-32003, 403), "NOT_FOUND": (-32004, 404),
         "METHOD_NOT_SUPPORTED": (-32005, 405), "INTERNAL_SERVER_ERROR": (-32603, 500)}


class TrpcError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message = code, message


# ---- superjson ------------------------------------------------------------------------------
def serialize(value):
    """superjson.serialize: {"json": ..., "meta": {"values": {path: ["Date"]}}} (meta if needed)."""
    meta = {}

    def walk(obj, path):
        if hasattr(obj, "isoformat") and hasattr(obj, "tzinfo"):
            meta[".".join(path)] = ["Date"]
            return util.iso(obj)
        if isinstance(obj, dict):
            return {k: walk(v, path + [str(k)]) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return [walk(v, path + [str(i)]) for i, v in enumerate(obj)]
        return obj

    out = {"json": walk(value, [])}
    if meta:
        out["meta"] = {"values": meta}
    return out


def deserialize(raw):
    if isinstance(raw, dict) and "json" in raw:
        return raw["json"]
    return raw


# ---- rows -> the app's objects --------------------------------------------------------------
def message_out(row):
    return {"id": row["id"], "role": row["role"], "content": row["content"],
            "model": row["model"], "provider": row["provider"], "error": row["error"],
            "metadata": row["metadata"], "reasoning": row["reasoning"],
            "parentId": row["parent_id"], "topicId": row["topic_id"], "agentId": row["agent_id"],
            "sessionId": row["session_id"], "threadId": row["thread_id"],
            "groupId": row["group_id"], "createdAt": row["created_at"],
            "updatedAt": row["updated_at"]}


def topic_out(row):
    return {"id": row["id"], "title": row["title"], "favorite": row["favorite"],
            "agentId": row["agent_id"], "sessionId": row["session_id"],
            "createdAt": row["created_at"], "updatedAt": row["updated_at"]}


def agent_out(row):
    return {"id": row["id"], "slug": row["slug"], "title": row["title"],
            "description": row["description"], "avatar": row["avatar"], "model": row["model"],
            "provider": row["provider"], "systemRole": row["system_role"] or "",
            "virtual": row["virtual"], "params": row["params"] or {},
            "chatConfig": row["chat_config"] or {}, "plugins": row["plugins"] or [],
            "openingMessage": row["opening_message"],
            "openingQuestions": row["opening_questions"] or [],
            "createdAt": row["created_at"], "updatedAt": row["updated_at"]}


def _str(obj, key, required=True):
    value = obj.get(key) if isinstance(obj, dict) else None
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise TrpcError("BAD_REQUEST", json.dumps([{"code": "invalid_type", "expected": "string",
                                                     "path": [key],
                                                     "message": f"{key}: expected string"}]))
    return value


class Lambda:
    def __init__(self, settings, pool):
        self.s = settings
        self.pool = pool
        self.procedures = {
            "config.getGlobalConfig": ("query", False, self.get_global_config),
            "config.getDefaultAgentConfig": ("query", False, lambda _u, _i: {}),
            "agent.getBuiltinAgent": ("query", True, self.get_builtin_agent),
            "aiChat.sendMessageInServer": ("mutation", True, self.send_message_in_server),
            "message.update": ("mutation", True, self.update_message),
            "message.getMessages": ("query", False, self.get_messages),
            "message.count": ("query", True, self.count_messages),
        }

    # ---- transport --------------------------------------------------------------------------
    def handle(self, req, path, user):
        """path: 'a.b' or 'a.b,c.d' (batch). Returns (status, body obj)."""
        query = dict(urllib.parse.parse_qsl(req.query))
        batch = query.get("batch") == "1"
        names = path.split(",")
        try:
            if req.method == "GET":
                raw = json.loads(query["input"]) if "input" in query else None
            elif req.method == "POST":
                raw = json.loads(req.body) if req.body else None
            else:
                raise TrpcError("METHOD_NOT_SUPPORTED", "Unsupported HTTP method")
        except ValueError:
            return self._error_response(names, TrpcError("PARSE_ERROR", "Unable to parse input"),
                                        batch)
        if not batch and len(names) > 1:
            return self._error_response(names, TrpcError("BAD_REQUEST", "Batching is not "
                                                         "enabled on this server"), False)
        results = []
        for index, name in enumerate(names):
            value = (raw or {}).get(str(index)) if batch else raw
            results.append(self._call(req.method, name, deserialize(value), user))
        if not batch:
            return results[0]
        statuses = {status for status, _ in results}
        return (statuses.pop() if len(statuses) == 1 else 207), [body for _, body in results]

    def _call(self, method, name, value, user):
        proc = self.procedures.get(name)
        try:
            if proc is None:
                raise TrpcError("NOT_FOUND", f'No procedure found on path "{name}"')
            kind, authed, fn = proc
            if (kind == "query") != (method == "GET"):
                raise TrpcError("METHOD_NOT_SUPPORTED",
                                f"Unsupported {method}-request to {kind} procedure at path "
                                f'"{name}"')
            if authed and not user:
                raise TrpcError("UNAUTHORIZED", "UNAUTHORIZED")
            return 200, {"result": {"data": serialize(fn(user, value))}}
        except TrpcError as err:
            return self._error(name, err)

    @staticmethod
    def _error(name, err):
        number, status = CODES[err.code]
        return status, {"error": serialize({"message": err.message, "code": number,
                                            "data": {"code": err.code, "httpStatus": status,
                                                     "path": name}})}

    def _error_response(self, names, err, batch):
        results = [self._error(n, err) for n in names]
        if not batch:
            return results[0]
        return results[0][0], [body for _, body in results]

    # ---- procedures -------------------------------------------------------------------------
    def get_global_config(self, user, value):
        s = self.s
        return {
            "serverConfig": {
                "aiProvider": {"ollama": {
                    "enabled": s.ollama_enabled,
                    "enabledModels": s.ollama_enabled_models,
                    "serverModelLists": s.ollama_models,
                    "fetchOnClient": not s.ollama_proxy_url,
                }},
                "defaultAgent": {"config": {}},
                "enableBusinessFeatures": False,
                "enableEmailVerification": s.email_verification,
                "enableKlavis": False,
                "enableMagicLink": False,
                "enableUploadFileToServer": s.upload_to_server,
                "image": {},
                "memory": {"userMemory": {}},
                "oAuthSSOProviderLabels": {},
                "oAuthSSOProviders": [],
                "telemetry": {"langfuse": False},
            },
            "serverFeatureFlags": {},
        }

    def get_builtin_agent(self, user, value):
        slug = _str(value, "slug")
        if slug != "inbox":
            return None

        def work(conn):
            rows = conn.query("SELECT * FROM agents WHERE user_id = $1 AND slug = $2",
                              [user["id"], slug])
            if rows:
                return rows[0]
            return conn.query(
                "INSERT INTO agents (id, slug, user_id, virtual) VALUES ($1, $2, $3, true) "
                "ON CONFLICT (slug, user_id) DO UPDATE SET accessed_at = now() RETURNING *",
                [util.id_for("agents"), slug, user["id"]])[0]
        return agent_out(self.pool.run(work))

    def _messages(self, conn, user_id, topic_id=None, agent_id=None):
        sql, params = "SELECT * FROM messages WHERE user_id = $1", [user_id]
        if topic_id is not None:
            params.append(topic_id)
            sql += f" AND topic_id = ${len(params)}"
        if agent_id is not None:
            params.append(agent_id)
            sql += f" AND agent_id = ${len(params)}"
        return [message_out(r) for r in conn.query(sql + " ORDER BY created_at, id", params)]

    def send_message_in_server(self, user, value):
        if not isinstance(value, dict):
            raise TrpcError("BAD_REQUEST", "input: expected object")
        agent_id = _str(value, "agentId", required=False)
        session_id = _str(value, "sessionId", required=False)
        topic_id = _str(value, "topicId", required=False)
        new_topic = value.get("newTopic")
        user_msg = value.get("newUserMessage") or {}
        assistant = value.get("newAssistantMessage") or {}
        content = _str(user_msg, "content")
        model, provider = _str(assistant, "model"), _str(assistant, "provider")

        def work(conn):
            nonlocal topic_id
            if agent_id and not conn.query("SELECT 1 FROM agents WHERE id = $1 AND user_id = $2",
                                           [agent_id, user["id"]]):
                raise TrpcError("NOT_FOUND", f"Agent {agent_id} not found")
            created = False
            if new_topic:
                topic_id = conn.query(
                    "INSERT INTO topics (id, title, agent_id, session_id, user_id) "
                    "VALUES ($1, $2, $3, $4, $5) RETURNING id",
                    [util.id_for("topics"), (new_topic or {}).get("title"), agent_id, session_id,
                     user["id"]])[0]["id"]
                created = True
                if agent_id:
                    conn.query("UPDATE agents SET updated_at = now() WHERE id = $1", [agent_id])
            elif topic_id and not conn.query("SELECT 1 FROM topics WHERE id = $1 AND "
                                             "user_id = $2", [topic_id, user["id"]]):
                raise TrpcError("NOT_FOUND", f"Topic {topic_id} not found")
            parent = user_msg.get("parentId")
            if created or not parent or not conn.query(
                    "SELECT 1 FROM messages WHERE id = $1 AND user_id = $2", [parent, user["id"]]):
                parent = None  # the topic's virtual root: no parent row
            user_id = conn.query(
                "INSERT INTO messages (id, role, content, user_id, agent_id, session_id, topic_id, "
                "parent_id, created_at, updated_at) VALUES ($1, 'user', $2, $3, $4, $5, $6, $7, "
                "clock_timestamp(), clock_timestamp()) RETURNING id",
                [util.id_for("messages"), content, user["id"], agent_id, session_id, topic_id,
                 parent])[0]["id"]
            assistant_id = conn.query(
                "INSERT INTO messages (id, role, content, model, provider, metadata, user_id, "
                "agent_id, session_id, topic_id, parent_id, created_at, updated_at) VALUES ($1, "
                "'assistant', $2, $3, $4, $5, $6, $7, $8, $9, $10, clock_timestamp(), "
                "clock_timestamp()) RETURNING id",
                [util.id_for("messages"), LOADING_FLAT, model, provider, assistant.get("metadata"),
                 user["id"], agent_id, session_id, topic_id, user_id])[0]["id"]
            messages = self._messages(conn, user["id"], topic_id=topic_id, agent_id=agent_id)
            topics = None
            if created:
                rows = conn.query("SELECT * FROM topics WHERE user_id = $1 AND agent_id IS NOT "
                                  "DISTINCT FROM $2::text ORDER BY updated_at DESC",
                                  [user["id"], agent_id])
                topics = {"items": [topic_out(r) for r in rows], "total": len(rows)}
            return {"assistantMessageId": assistant_id, "isCreateNewTopic": created,
                    "messages": messages, "topicId": topic_id, "topics": topics,
                    "userMessageId": user_id}
        return self.pool.run(work)

    def update_message(self, user, value):
        message_id = _str(value, "id")
        patch = value.get("value") if isinstance(value, dict) else None
        if not isinstance(patch, dict):
            raise TrpcError("BAD_REQUEST", "value: expected object")
        columns = {"content": "content", "error": "error", "reasoning": "reasoning",
                   "model": "model", "provider": "provider", "metadata": "metadata",
                   "search": "search", "tools": "tools"}
        sets, params = [], [message_id, user["id"]]
        for key, column in columns.items():
            if key in patch:
                params.append(patch[key])
                sets.append(f"{column} = ${len(params)}")

        def work(conn):
            if sets:
                conn.query(f"UPDATE messages SET {', '.join(sets)}, "
                           "updated_at = clock_timestamp() WHERE id = $1 AND user_id = $2", params)
            rows = conn.query("SELECT topic_id, agent_id FROM messages WHERE id = $1 AND "
                              "user_id = $2", [message_id, user["id"]])
            if not rows:
                return {"success": False}
            return {"success": True, "messages": self._messages(
                conn, user["id"], topic_id=rows[0]["topic_id"], agent_id=rows[0]["agent_id"])}
        return self.pool.run(work)

    def get_messages(self, user, value):
        if not user:
            raise TrpcError("UNAUTHORIZED", "Authentication required")
        value = value if isinstance(value, dict) else {}
        return self.pool.run(lambda conn: self._messages(
            conn, user["id"], topic_id=value.get("topicId"), agent_id=value.get("agentId")))

    def count_messages(self, user, value):
        return self.pool.query("SELECT count(*) AS n FROM messages WHERE user_id = $1",
                               [user["id"]])[0]["n"]
