from judge.cli import cli

cli()
