"""The assessment: promised against actual locations, the register of each data category for a
decision under 10 kap. 2 a § OSL, and sovereignty criteria as data.

The register (:func:`residency_audit.assessment.register.build_register`) compiles evidence; it
does not decide whether handing data to a provider is suitable. That is the authority's decision.
"""
