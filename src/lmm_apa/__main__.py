from lmm_apa.interfaces.cli import main

main()
