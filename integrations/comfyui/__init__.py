"""rescap nodes for ComfyUI: put this folder in ComfyUI/custom_nodes/ (or install it with
ComfyUI-Manager) and install rescap into ComfyUI's Python. The nodes live in ``rescap.comfyui``."""

try:
    from rescap.comfyui import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS
except ImportError as exc:  # ComfyUI logs this line and goes on without the pack
    raise ImportError(f"the rescap nodes need rescap in ComfyUI's Python: pip install 'rescap[transformers]' ({exc})") from exc

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]
