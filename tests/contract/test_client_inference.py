"""The official ollama client runs models on the double: generate, chat, embed, ps."""

import datetime
import math

import ollama
import pytest


def test_generate_streams_a_deterministic_answer_then_metrics(pulled):
    chunks = list(pulled.generate("qwen2.5:0.5b", "Why is the sky blue?", stream=True))
    *tokens, final = chunks
    assert len(tokens) > 3 and not any(chunk.done for chunk in tokens)
    text = "".join(chunk.response for chunk in tokens)
    assert "qwen2.5:0.5b" in text and "Why is the sky blue?" in text
    assert final.done and final.done_reason == "stop" and final.response == ""
    assert final.eval_count == len(tokens)
    for field in ("total_duration", "load_duration", "prompt_eval_duration", "eval_duration"):
        assert isinstance(final[field], int) and final[field] > 0
    assert final.prompt_eval_count > 0
    assert final.total_duration >= final.load_duration + final.prompt_eval_duration + final.eval_duration
    tokens_per_second = final.eval_count / final.eval_duration * 1e9
    assert 1 < tokens_per_second < 1000
    again = pulled.generate("qwen2.5:0.5b", "Why is the sky blue?")
    assert again.response == text and again.done_reason == "stop"


def test_bigger_models_are_slower(client):
    client.pull("qwen2.5:0.5b")
    client.pull("llama3:70b")
    small = client.generate("qwen2.5:0.5b", "hello")
    big = client.generate("llama3:70b", "hello")
    assert small.eval_count / small.eval_duration > big.eval_count / big.eval_duration


def test_num_predict_truncates_with_done_reason_length(pulled):
    answer = pulled.generate("qwen2.5:0.5b", "count to ten", options={"num_predict": 2})
    assert (answer.eval_count, answer.done_reason) == (2, "length")


def test_generate_json_format_is_valid_json(pulled):
    import json

    assert json.loads(pulled.generate("qwen2.5:0.5b", "hi", format="json").response)


def test_empty_prompt_loads_and_keep_alive_zero_unloads(pulled):
    loaded = pulled.generate("qwen2.5:0.5b", "")
    assert (loaded.done, loaded.done_reason) == (True, "load")
    assert [m.model for m in pulled.ps().models] == ["qwen2.5:0.5b"]
    unloaded = pulled.generate("qwen2.5:0.5b", "", keep_alive=0)
    assert unloaded.done_reason == "unload"
    assert pulled.ps().models == []


def test_generate_on_a_missing_model_is_404(client):
    with pytest.raises(ollama.ResponseError) as caught:
        client.generate("nothere", "hi")
    assert (caught.value.status_code, caught.value.error) == (404, "model 'nothere' not found")


def test_chat_streams_assistant_messages(pulled):
    messages = [{"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Name a colour"}]
    *parts, final = list(pulled.chat("qwen2.5:0.5b", messages=messages, stream=True))
    assert all(part.message.role == "assistant" for part in parts)
    assert "Name a colour" in "".join(part.message.content for part in parts)
    assert final.done and final.done_reason == "stop" and final.eval_count == len(parts)
    whole = pulled.chat("qwen2.5:0.5b", messages=messages)
    assert whole.message.content == "".join(part.message.content for part in parts)


def test_chat_errors(pulled):
    with pytest.raises(ollama.ResponseError) as caught:
        pulled.chat("nothere", messages=[{"role": "user", "content": "hi"}])
    assert (caught.value.status_code, caught.value.error) == (404, "model 'nothere' not found")
    with pytest.raises(ollama.ResponseError) as caught:
        pulled.chat("a/b/c/d", messages=[{"role": "user", "content": "hi"}])
    assert (caught.value.status_code, caught.value.error) == (400, "model is required")


def test_chat_with_tools_needs_a_tools_template(client):
    client.pull("llama3:70b")
    tool = {"type": "function", "function": {"name": "f", "description": "d",
                                             "parameters": {"type": "object", "properties": {}}}}
    with pytest.raises(ollama.ResponseError) as caught:
        client.chat("llama3:70b", messages=[{"role": "user", "content": "hi"}], tools=[tool])
    assert (caught.value.status_code, caught.value.error) == (400, '"llama3:70b" does not support tools')


def test_embed_returns_unit_vectors_of_the_models_width(pulled):
    result = pulled.embed("qwen2.5:0.5b", ["one", "two"])
    assert len(result.embeddings) == 2
    assert all(len(vector) == 896 for vector in result.embeddings)
    assert all(abs(math.fsum(v * v for v in vector) - 1) < 1e-9 for vector in result.embeddings)
    assert result.embeddings[0] != result.embeddings[1]
    assert pulled.embed("qwen2.5:0.5b", "one").embeddings[0] == result.embeddings[0]
    assert pulled.embeddings("qwen2.5:0.5b", "one").embedding
    assert pulled.embeddings("qwen2.5:0.5b", "").embedding == []


def test_ps_lists_loaded_models_with_keep_alive(pulled):
    assert pulled.ps().models == []
    pulled.generate("qwen2.5:0.5b", "hi", keep_alive="1h")
    [running] = pulled.ps().models
    assert running.model == "qwen2.5:0.5b"
    assert running.size == pulled.list().models[0].size
    remaining = running.expires_at - datetime.datetime.now(datetime.timezone.utc)
    assert datetime.timedelta(minutes=59) < remaining <= datetime.timedelta(hours=1)
    pulled.embed("qwen2.5:0.5b", "x", keep_alive=-1)
    forever = pulled.ps().models[0].expires_at - datetime.datetime.now(datetime.timezone.utc)
    assert forever > datetime.timedelta(days=365 * 100)


def test_ollama_keep_alive_sets_the_default(start_double, published):
    double = start_double(OLLAMA_KEEP_ALIVE="90s")
    client = ollama.Client(host=double.url)
    client.pull("qwen2.5:0.5b")
    client.generate("qwen2.5:0.5b", "hi")
    remaining = client.ps().models[0].expires_at - datetime.datetime.now(datetime.timezone.utc)
    assert datetime.timedelta(seconds=80) < remaining <= datetime.timedelta(seconds=90)
