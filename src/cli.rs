//! The command line: flags, sub-commands and what each prints.
