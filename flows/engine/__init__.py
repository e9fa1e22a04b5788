"""The simulation engine: producers, channels and consumers as SQS, SNS and EventBridge
behave, with all live state in Redis. No Django imports: tasks and services wire it up."""
