"""Documents in and out: scenario YAML (and, to come, CloudFormation/SAM, AsyncAPI, Mermaid).

Every document a person hands in is read through ``yamldoc.parse``, which bounds its cost.
"""
