from docflow.cli import main

main()
