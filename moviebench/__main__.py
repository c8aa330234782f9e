from moviebench.cli import main

main()
