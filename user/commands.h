/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* Entry points of the sluice commands: argv[0] is the command name. */
#ifndef SLUICE_COMMANDS_H
#define SLUICE_COMMANDS_H

int cmd_up(int argc, char **argv);
int cmd_down(int argc, char **argv);
int cmd_service(int argc, char **argv);
int cmd_backend(int argc, char **argv);
int cmd_split(int argc, char **argv);
int cmd_flip(int argc, char **argv);
int cmd_segment(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_rollout(int argc, char **argv);
int cmd_agent(int argc, char **argv);
int cmd_apply(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_events(int argc, char **argv);
int cmd_explain(int argc, char **argv);

#endif /* SLUICE_COMMANDS_H */
