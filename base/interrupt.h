// Interrupts: SIGINT, SIGTERM and SIGHUP asking a writing command to stop. A command that can
// undo what it wrote (checkin, put) installs handlers that only record the signal; the store's
// writer (cas::Ingestor) then refuses further work with a Cancelled status, the command undoes
// what it wrote as on any failure, and ends by the signal it got (ReraiseInterrupt), so a shell
// sees it killed by that signal, as it would see any other program.
//
// Thread-safety: everything here may be called from any thread.
#ifndef CAIRN_BASE_INTERRUPT_H_
#define CAIRN_BASE_INTERRUPT_H_

#include "base/status.h"

namespace cairn {

// Installs the recording handlers for SIGINT, SIGTERM and SIGHUP (SA_RESTART: interrupted
// system calls carry on). A second signal of these ends the process at once, by default action:
// what a SIGKILL would leave is a valid repository too.
void InstallInterruptHandlers();

// The signal recorded, 0 if none.
int InterruptSignal();

// Cancelled, naming the signal recorded: "interrupted by SIGINT".
Status InterruptedStatus();

// Ends the process by the recorded signal, its default action restored; returns if none was
// recorded.
void ReraiseInterrupt();

}  // namespace cairn

#endif  // CAIRN_BASE_INTERRUPT_H_
