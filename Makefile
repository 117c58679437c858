# Shortcuts for the README's two commands (make is optional: tasks.sh is what they run).
.PHONY: demo test bench
demo: ; bash tasks.sh demo
test: ; bash tasks.sh test
bench: ; bash tasks.sh bench
