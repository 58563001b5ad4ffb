"""The public Python API's code (`lmm_apa.Assessor`, `lmm_apa.Result`); import it from `lmm_apa`."""
