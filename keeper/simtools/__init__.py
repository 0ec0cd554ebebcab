"""The `keeper sim` and `keeper bench` tooling around the simulator: the shipped scenario catalog and the
reports (JSON and plots). Outside the live process on purpose: `keeper.app` never imports it (nor
`keeper.sim`), so the running keeper never loads the simulator or matplotlib."""
