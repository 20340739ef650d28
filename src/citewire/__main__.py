from citewire.cli import main

main()
