/*
 * executor-spawn: the steps a sandboxed child takes between fork and exec, done in C.
 *
 * The service (executor/sandbox/spawn.py) starts this helper with posix_spawn/vfork, which
 * costs about a millisecond, where a fork of the Python service with a preexec_fn costs ten on
 * a large heap. The helper applies the run's setup in this fixed order, then execs the program:
 *
 *   1. namespaces:   unshare(-n FLAGS); then each -w PATH=VALUE is written (the run's
 *                    oom_score_adj, the limits of a new IPC namespace); with -t DIR, /dev/shm, /var/tmp, /tmp become DIR; with
 *                    -P OPTIONS, a fresh /proc is mounted with them (e.g. hidepid=2)
 *   2. rlimits:      -r RESOURCE:VALUE, soft = hard = VALUE (set while still root, so they hold)
 *   ---- root ends here ----
 *   3. identity:     -u UID -g GID: no supplementary groups, real = effective = saved ids
 *   4. no_new_privs: always
 *   5. seccomp:      -s FD: a BPF program (struct sock_filter array) read from FD at offset 0
 *   6. execve(argv after "--") with the environment the helper was given; with -c instead,
 *      check the filter (socket(AF_INET) refused with EPERM, socket(AF_UNIX) allowed) and exit
 *      0, so the service can probe the layer without starting a program
 *
 * Two other modes act on every process of a uid, as that uid, so that kill(-1) reaches all of
 * them in one pass under the kernel's task-list lock (a process forking meanwhile cannot leave a
 * child behind):
 *   -k UID   kill(-1, SIGKILL) as UID; exit 0
 *   -q UID   exit 0 if UID has any process (zombies included), 1 if none. kill(-1, 0) cannot
 *            tell (it succeeds whenever any process exists, ignoring EPERM); instead the helper,
 *            as UID, sets RLIMIT_NPROC to 2 and forks: the kernel refuses the fork exactly when
 *            UID already has a task besides the helper.
 *   -I UID   remove, as UID, every System V shared memory segment, message queue and semaphore
 *            set that UID created or owns (listed in /proc/sysvipc): they belong to no process
 *            and would keep their memory for the next run of the uid. Root without
 *            CAP_SYS_ADMIN (a container) may not remove another user's objects; their owner may.
 *
 * Errors: with -e FD, a failed step writes "step: strerror" to FD (close-on-exec, so a
 * successful exec closes it unwritten) and the helper exits 127.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mount.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_RLIMITS 32
#define MAX_WRITES 8
#define MAX_FILTER_BYTES (4096 * sizeof(struct sock_filter))

extern char **environ;

static int error_fd = -1;

static void fail(const char *step) {
    int saved = errno;
    if (error_fd >= 0) {
        char message[512];
        int length = snprintf(message, sizeof message, "%s: %s", step, strerror(saved));
        if (length > 0 && write(error_fd, message, (size_t)length) < 0) {
            /* nothing more we can say */
        }
    }
    _exit(127);
}

static long long parse_number(const char *text, const char *what) {
    char *end = NULL;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0') {
        errno = EINVAL;
        fail(what);
    }
    return value;
}

static void become(uid_t uid, gid_t gid) {
    if (setgroups(0, NULL) != 0) fail("setgroups");
    if (setresgid(gid, gid, gid) != 0) fail("setresgid");
    if (setresuid(uid, uid, uid) != 0) fail("setresuid");
}

static void load_filter(int fd, struct sock_fprog *program) {
    static unsigned char buffer[MAX_FILTER_BYTES];
    size_t used = 0;
    /* pread from offset 0: one descriptor serves every spawn, whose offsets are shared. */
    for (;;) {
        ssize_t got = pread(fd, buffer + used, sizeof buffer - used, (off_t)used);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) fail("read seccomp filter");
        if (got == 0) break;
        used += (size_t)got;
        if (used == sizeof buffer) {
            errno = E2BIG;
            fail("read seccomp filter");
        }
    }
    close(fd);
    if (used == 0 || used % sizeof(struct sock_filter) != 0) {
        errno = EINVAL;
        fail("seccomp filter size");
    }
    program->len = (unsigned short)(used / sizeof(struct sock_filter));
    program->filter = (struct sock_filter *)buffer;
}

static void write_file(const char *path, const char *value) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) fail(path);
    size_t length = strlen(value);
    if (write(fd, value, length) != (ssize_t)length) fail(path);
    close(fd);
}

static void bind_over(const char *source, const char *target) {
    struct stat st;
    if (stat(target, &st) != 0) return; /* nothing to hide where nothing exists */
    if (mount(source, target, NULL, MS_BIND, NULL) != 0) fail(target);
}

/* One /proc/sysvipc table: remove each object whose uid or cuid column is ``uid``. */
static void remove_ipc_table(const char *kind, uid_t uid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/sysvipc/%s", kind);
    FILE *table = fopen(path, "re");
    if (table == NULL) return; /* a kernel without System V IPC */
    char line[1024];
    int uid_column = -1, cuid_column = -1, column = 0;
    if (fgets(line, sizeof line, table) == NULL) {
        fclose(table);
        return;
    }
    for (char *save = NULL, *name = strtok_r(line, " \t\n", &save); name != NULL;
         name = strtok_r(NULL, " \t\n", &save), column++) {
        if (strcmp(name, "uid") == 0) uid_column = column;
        if (strcmp(name, "cuid") == 0) cuid_column = column;
    }
    if (uid_column < 0 || cuid_column < 0) fail("unexpected /proc/sysvipc header");
    while (fgets(line, sizeof line, table) != NULL) {
        long long id = -1, owner = -1, creator = -1;
        column = 0;
        for (char *save = NULL, *field = strtok_r(line, " \t\n", &save); field != NULL;
             field = strtok_r(NULL, " \t\n", &save), column++) {
            if (column == 1) id = strtoll(field, NULL, 10); /* shmid, msqid or semid */
            if (column == uid_column) owner = strtoll(field, NULL, 10);
            if (column == cuid_column) creator = strtoll(field, NULL, 10);
        }
        if (id < 0 || (owner != (long long)uid && creator != (long long)uid)) continue;
        /* An object already gone (removed meanwhile) is no error. */
        if (kind[1] == 'h') shmctl((int)id, IPC_RMID, NULL);
        else if (kind[1] == 's') msgctl((int)id, IPC_RMID, NULL);
        else semctl((int)id, 0, IPC_RMID);
    }
    fclose(table);
}

int main(int argc, char **argv) {
    int resources[MAX_RLIMITS];
    rlim_t values[MAX_RLIMITS];
    int rlimit_count = 0;
    long long uid = -1, gid = -1, unshare_flags = 0;
    const char *private_tmp = NULL;
    const char *proc_options = NULL;
    char *writes[MAX_WRITES];
    int write_count = 0;
    int filter_fd = -1;
    int check_only = 0;
    int option;

    while ((option = getopt(argc, argv, "+r:u:g:n:t:P:w:s:e:k:q:I:c")) != -1) {
        switch (option) {
        case 'c': check_only = 1; break;
        case 'w':
            if (strchr(optarg, '=') == NULL || write_count == MAX_WRITES) {
                errno = EINVAL;
                fail("-w");
            }
            writes[write_count++] = optarg;
            break;
        case 'P': proc_options = optarg; break;
        case 'r': {
            char *colon = strchr(optarg, ':');
            if (colon == NULL || rlimit_count == MAX_RLIMITS) {
                errno = EINVAL;
                fail("-r");
            }
            *colon = '\0';
            resources[rlimit_count] = (int)parse_number(optarg, "-r resource");
            values[rlimit_count] = (rlim_t)parse_number(colon + 1, "-r value");
            rlimit_count++;
            break;
        }
        case 'u': uid = parse_number(optarg, "-u"); break;
        case 'g': gid = parse_number(optarg, "-g"); break;
        case 'n': unshare_flags = parse_number(optarg, "-n"); break;
        case 't': private_tmp = optarg; break;
        case 's': filter_fd = (int)parse_number(optarg, "-s"); break;
        case 'e':
            error_fd = (int)parse_number(optarg, "-e");
            if (fcntl(error_fd, F_SETFD, FD_CLOEXEC) != 0) fail("error fd");
            break;
        case 'I': {
            uid_t target = (uid_t)parse_number(optarg, "-I");
            become(target, (gid_t)target);
            remove_ipc_table("shm", target);
            remove_ipc_table("msg", target);
            remove_ipc_table("sem", target);
            _exit(0);
        }
        case 'k':
        case 'q': {
            uid_t target = (uid_t)parse_number(optarg, "-k/-q");
            become(target, (gid_t)target);
            /* kill(-1) skips the caller itself: only the uid's other processes are reached. */
            if (option == 'k') {
                if (kill(-1, SIGKILL) != 0 && errno != ESRCH) fail("kill");
                _exit(0);
            }
            struct rlimit two = {2, 2};
            if (setrlimit(RLIMIT_NPROC, &two) != 0) fail("setrlimit");
            pid_t child = fork();
            if (child < 0) {
                if (errno == EAGAIN) _exit(0);
                fail("fork");
            }
            if (child == 0) _exit(0);
            while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {
            }
            _exit(1);
        }
        default:
            errno = EINVAL;
            fail("usage");
        }
    }
    if (optind >= argc && !check_only) {
        errno = EINVAL;
        fail("no program after the options");
    }

    if (unshare_flags != 0 && unshare((int)unshare_flags) != 0) fail("unshare");
    for (int i = 0; i < write_count; i++) {
        char *equals = strchr(writes[i], '=');
        *equals = '\0';
        write_file(writes[i], equals + 1);
    }
    if (private_tmp != NULL || proc_options != NULL) {
        if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) fail("mount private /");
    }
    if (private_tmp != NULL) {
        /* /tmp last: binding over it first would hide a source that lives under /tmp. */
        bind_over(private_tmp, "/dev/shm");
        bind_over(private_tmp, "/var/tmp");
        bind_over(private_tmp, "/tmp");
    }
    if (proc_options != NULL &&
        mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, proc_options) != 0) {
        fail("mount /proc");
    }
    for (int i = 0; i < rlimit_count; i++) {
        struct rlimit limit = {values[i], values[i]};
        if (setrlimit(resources[i], &limit) != 0) fail("setrlimit");
    }
    /* ---- root ends here ---- */
    if (uid >= 0) become((uid_t)uid, (gid_t)(gid >= 0 ? gid : uid));
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail("no_new_privs");
    if (filter_fd >= 0) {
        struct sock_fprog program;
        load_filter(filter_fd, &program);
        if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) != 0) fail("seccomp");
    }
    if (check_only) {
        int inet = socket(AF_INET, SOCK_STREAM, 0);
        if (inet >= 0 || errno != EPERM) {
            errno = inet >= 0 ? EEXIST : errno;
            fail("seccomp check: socket(AF_INET) was not refused with EPERM");
        }
        int local = socket(AF_UNIX, SOCK_STREAM, 0);
        if (local < 0) fail("seccomp check: socket(AF_UNIX) was refused");
        close(local);
        _exit(0);
    }
    execve(argv[optind], &argv[optind], environ);
    fail(argv[optind]);
    return 127;
}
