"""The workflow's job commands as modules of the package (`python -m flops_fit.jobs.<name>`), so that an installed
flops-fit runs them without the repository: the forecast times them, and scripts/<name>.py calls the same main()."""
