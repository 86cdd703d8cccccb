"""Records every gcp operation called during the whole test run; fails the run on any outside the allow-list."""
