"""Project memory: the accepted documents of a project, chunked, embedded and searchable,
in Qdrant, always filtered by tenant and project.

Import the submodules: this package imports nothing, so the API process can use
``docflow.memory.contracts`` without loading qdrant-client or onnxruntime.
"""
