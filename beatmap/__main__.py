from beatmap.cli import main

main()
