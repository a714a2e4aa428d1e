"""``rescap ui``: a local web app (Gradio, ``pip install 'rescap[ui]'``) showing what rescap gives
each restorer and why. ``rescap.ui.work`` does the work without Gradio; ``rescap.ui.app`` lays it out."""
