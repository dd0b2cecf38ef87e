"""ui: the Gradio web chat over the rag library."""

from .app import ChatApp
from .documents_tab import example_questions
from .layout import build_blocks
from .server import ensure_indexed, make_app, serve

__all__ = ["example_questions", "ChatApp", "build_blocks", "ensure_indexed", "make_app", "serve"]
