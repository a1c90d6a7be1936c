"""OpenVINO serving of the encoders on the CPU, behind the one inference skeleton.

- :mod:`core.openvino.export`: PyTorch -> OpenVINO graph (from ``inputs_embeds``; the word
  embeddings stay the process's shared 4-bit table) -> NNCF post-training int8;
- :mod:`core.openvino.data`: the committed calibration windows and guard sample (span QA);
- :mod:`core.openvino.text`: the same for the text encoders (``sentiment-zh-e5``, ``e5-small``,
  ``sentiment-en-minilm``), and their guard (accuracy, zero-shot accuracy, embedding cosine);
- :mod:`core.openvino.guard`: int8 is served only within 1 F1 (1 accuracy point) of PyTorch fp32;
- :mod:`core.openvino.build`: ``python -m core.openvino build [KEY]`` (``make setup`` runs it);
- :mod:`core.openvino.cache`: builds in the model cache keyed by the weights' hash, atomic;
- :mod:`core.openvino.runtime`: which runtime serves a model (``DEMO_RUNTIME=torch`` forces
  PyTorch; attention maps, gradients and GPUs always use PyTorch), fallbacks with a note;
- :mod:`core.openvino.adapter`: the compiled graph with the PyTorch model's interface.
"""
