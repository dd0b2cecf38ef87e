"""ui: the Gradio web chat over the rag library."""

from .app import EXAMPLES, ChatApp
from .layout import build_blocks
from .server import ensure_indexed, make_app, serve

__all__ = ["EXAMPLES", "ChatApp", "build_blocks", "ensure_indexed", "make_app", "serve"]
