let total = 0;
for (;;) total += 1;
