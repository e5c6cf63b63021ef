int twofiles_value(void) { return 1; }
