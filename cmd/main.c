/* tollgate: one binary, one subcommand per role. Placeholder until the
 * subcommands land. */
#include <stdio.h>

int main(void)
{
    printf("tollgate %s\n", TG_VERSION);
    return 0;
}
