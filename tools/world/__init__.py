"""The synthetic world of coloured shapes that trains and tests goal's default tiny model.

See scenes.py for the API; the names most callers need are re-exported here.
"""

from .scenes import (ALL_KINDS, BACKGROUNDS, COLOURS, KINDS, PLACE_REGION, PLACES, SHAPES, SIZES,
                     TEXTURES, Background, Obj, Scene, SceneSentence, Spec, describe, generate,
                     hard_negatives, make_scene, object_box, render, scene_from_spec, spatial_regions)

__all__ = ["ALL_KINDS", "BACKGROUNDS", "COLOURS", "KINDS", "PLACE_REGION", "PLACES", "SHAPES", "SIZES",
           "TEXTURES", "Background", "Obj", "Scene", "SceneSentence", "Spec", "describe", "generate",
           "hard_negatives", "make_scene", "object_box", "render", "scene_from_spec", "spatial_regions"]
