"""``python -m eqlab``: the command line (also how ``torchrun -m eqlab`` starts a distributed run)."""

from eqlab._cli import main

if __name__ == "__main__":
    main()
