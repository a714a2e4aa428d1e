"""rescap's ComfyUI nodes: Rescap Estimate, Rescap Caption and Rescap Prompt.

The node pack in ``integrations/comfyui`` (what ComfyUI loads from ``custom_nodes/``) imports these
mappings; they are written for ComfyUI at Comfy-Org/ComfyUI a125cd84b054a57729b5eecab930ca9408719832
(V1 node classes: INPUT_TYPES, RETURN_TYPES, FUNCTION, CATEGORY, OUTPUT_IS_LIST). Importing this
module imports neither ComfyUI nor torch.

Example:
    >>> from rescap.comfyui import NODE_CLASS_MAPPINGS
    >>> sorted(NODE_CLASS_MAPPINGS)
    ['RescapCaption', 'RescapEstimate', 'RescapPrompt']
"""

from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]
