"""scenario: scenario files (model, YAML parsing with FILE:LINE errors, selection) and
the campaign that runs them into outcomes."""
