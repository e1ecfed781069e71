"""The lab's synthetic models: real-looking metadata, small (or deliberately large) bodies."""

CHATML_TEMPLATE = """{{- if .System }}<|im_start|>system
{{ .System }}<|im_end|>
{{ end }}{{- if .Tools }}<|im_start|>system
# Tools
{{ range .Tools }}{{ . }}
{{ end }}<|im_end|>
{{ end }}{{ range .Messages }}<|im_start|>{{ .Role }}
{{ .Content }}<|im_end|>
{{ end }}<|im_start|>assistant
"""

QWEN1_TEMPLATE = """{{ if .System }}<|im_start|>system
{{ .System }}<|im_end|>
{{ end }}{{ if .Prompt }}<|im_start|>user
{{ .Prompt }}<|im_end|>
{{ end }}<|im_start|>assistant
"""

LLAMA3_TEMPLATE = """{{ if .System }}<|start_header_id|>system<|end_header_id|>

{{ .System }}<|eot_id|>{{ end }}{{ if .Prompt }}<|start_header_id|>user<|end_header_id|>

{{ .Prompt }}<|eot_id|>{{ end }}<|start_header_id|>assistant<|end_header_id|>

{{ .Response }}<|eot_id|>"""

QWEN_PARAMS = {"stop": ["<|im_start|>", "<|im_end|>"]}
LLAMA3_PARAMS = {"num_keep": 24, "stop": ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]}

APACHE_NOTE = (
    "Synthetic model for the llmops.ollama test lab. It stands in for a model released under\n"
    "the Apache License, Version 2.0 (http://www.apache.org/licenses/LICENSE-2.0). It holds\n"
    "no weights: its GGUF body carries metadata and a tiny placeholder tensor only.\n"
)
QWEN_NOTE = APACHE_NOTE.replace("Apache License, Version 2.0 (http://www.apache.org/licenses/LICENSE-2.0)",
                                "Tongyi Qianwen LICENSE AGREEMENT")
LLAMA3_NOTE = APACHE_NOTE.replace("Apache License, Version 2.0 (http://www.apache.org/licenses/LICENSE-2.0)",
                                  "META LLAMA 3 COMMUNITY LICENSE AGREEMENT")

# GGUF general.file_type values (llama.cpp's LLAMA_FTYPE_*).
FILE_TYPES = {"F16": 1, "Q4_0": 2, "Q4_K_M": 15}

MODELS = {
    "qwen2.5:0.5b": {
        "family": "qwen2", "parameter_size": "494.03M", "parameter_count": 494032768,
        "quantization": "Q4_K_M", "context_length": 32768, "embedding_length": 896,
        "block_count": 24, "head_count": 14, "template": CHATML_TEMPLATE,
        "params": QWEN_PARAMS, "license": APACHE_NOTE, "display": "Qwen2.5 0.5B Instruct",
    },
    "qwen2.5:3b": {
        "family": "qwen2", "parameter_size": "3.1B", "parameter_count": 3085938688,
        "quantization": "Q4_K_M", "context_length": 32768, "embedding_length": 2048,
        "block_count": 36, "head_count": 16, "template": CHATML_TEMPLATE,
        "params": QWEN_PARAMS, "license": QWEN_NOTE, "display": "Qwen2.5 3B Instruct",
        # A body of this many bytes, for progress and fault tests.
        "body_bytes": 300 * 1024 * 1024,
    },
    "qwen:14b": {
        "family": "qwen2", "parameter_size": "14B", "parameter_count": 14167290880,
        "quantization": "Q4_0", "context_length": 32768, "embedding_length": 5120,
        "block_count": 40, "head_count": 40, "template": QWEN1_TEMPLATE,
        "params": QWEN_PARAMS, "license": QWEN_NOTE, "display": "Qwen1.5 14B Chat",
    },
    "llama3:70b": {
        "family": "llama", "parameter_size": "70.6B", "parameter_count": 70553706496,
        "quantization": "Q4_0", "context_length": 8192, "embedding_length": 8192,
        "block_count": 80, "head_count": 64, "template": LLAMA3_TEMPLATE,
        "params": LLAMA3_PARAMS, "license": LLAMA3_NOTE, "display": "Meta Llama 3 70B Instruct",
    },
}

# Published by default; the big one is opt-in for test suites that must stay fast.
SMALL_MODELS = ["qwen2.5:0.5b", "qwen:14b", "llama3:70b"]
