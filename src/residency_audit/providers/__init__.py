"""Sources of :class:`~residency_audit.model.Resource` records.

Each cloud adapter lives in its own subpackage (``aws``, ``azure``, ``gcp``), imported only when
used so that ``import residency_audit`` never imports a provider SDK. The declared inventory is
:mod:`residency_audit.providers.inventory`.
"""
