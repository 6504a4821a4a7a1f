"""fallwatch's pipelines: sources, the scene generator, evidence, store, CLI."""
