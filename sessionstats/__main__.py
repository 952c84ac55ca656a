from sessionstats.cli import main

main()
