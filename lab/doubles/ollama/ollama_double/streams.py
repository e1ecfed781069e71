"""What handlers return and raise; the HTTP layer turns these into Ollama's wire formats."""


class ApiError(Exception):
    """A plain {"error": message} reply with this status."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


class StreamError(Exception):
    """A failure inside a progress stream: an error line once output began, else HTTP status."""

    def __init__(self, message, status=None):
        super().__init__(message)
        self.message = message
        self.status = status


class Json:
    def __init__(self, body, status=200):
        self.body, self.status = body, status


class Empty:
    """200 with no body at all: /api/delete, /api/copy, HEAD /api/blobs."""

    def __init__(self, status=200):
        self.status = status


class Text:
    def __init__(self, text, status=200):
        self.text, self.status = text, status


class Stream:
    """NDJSON objects from a generator; with stream=False only the last one, as JSON."""

    def __init__(self, generator, stream=True):
        self.generator, self.stream = generator, stream
