/*
 * executor-spawn: the steps a sandboxed child takes between fork and exec, done in C.
 *
 * The service (executor/sandbox/spawn.py) starts this helper with posix_spawn/vfork, which
 * costs about a millisecond, where a fork of the Python service with a preexec_fn costs ten on
 * a large heap. The helper applies the run's setup in this fixed order, then execs the program:
 *
 *   1. namespaces:   with -N PATH, join the network namespace open at PATH (setns: one made
 *                    ahead for the run's uid and kept by the service, see netns.py); then
 *                    unshare(-n FLAGS); then each -w PATH=VALUE is written (the run's
 *                    oom_score_adj, the limits of a new IPC namespace); with -t DIR, /dev/shm, /var/tmp, /tmp become DIR; with
 *                    -P OPTIONS, a fresh /proc is mounted with them (e.g. hidepid=2)
 *   2. rlimits:      -r RESOURCE:VALUE, soft = hard = VALUE (set while still root, so they hold)
 *   3. scheduling:   -i: SCHED_IDLE, the lowest CPU weight there is, so that a run never delays
 *                    the service (which cannot raise its own priority in a container); a run
 *                    cannot leave it (that needs RLIMIT_NICE, which stays 0)
 *   4. umask 077:    always: what a run creates is its own unless it says otherwise
 *   5. keeper:       with -R FD, fork once more, still as root: the child goes on, the helper
 *                    waits for it, writes the child's peak resident memory ("maxrss KB\n",
 *                    from wait4) to FD and ends the same way (same exit code, or killed by
 *                    the same signal). The helper was started from the service by vfork, so
 *                    its own peak is the service's; a fresh child's is the program's alone.
 *                    As root, the keeper is out of reach of the run's kill(-1).
 *   ---- root ends here ----
 *   6. identity:     -u UID -g GID: no supplementary groups, real = effective = saved ids
 *   7. no_new_privs: always
 *   8. landlock:     -L ABI with -W DIR (everything beneath), -S DIR (regular files only: make,
 *                    read, write, remove; no directories, sockets or FIFOs) and -D FILE (read
 *                    and write): the rest of the filesystem becomes read-only; with ABI >= 6,
 *                    abstract AF_UNIX sockets and signals are scoped to the run's own domain
 *   9. seccomp:      -s FD: a BPF program (struct sock_filter array) read from FD at offset 0
 *  10. execve(argv after "--") with the environment the helper was given; with -c instead,
 *      check the filter (socket() refused with EPERM, socketpair(AF_UNIX) allowed) and exit
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
 *   -M UID   print "pss KB\n": the proportional set size summed over UID's processes (pages
 *            shared between them count once in all), read as UID from /proc/PID/smaps_rollup,
 *            which root without CAP_SYS_PTRACE (a container) may not read for another uid
 *   -I UID   remove, as UID, every System V shared memory segment, message queue and semaphore
 *            set that UID created or owns (listed in /proc/sysvipc): they belong to no process
 *            and would keep their memory for the next run of the uid. Root without
 *            CAP_SYS_ADMIN (a container) may not remove another user's objects; their owner may.
 *
 * Errors: with -e FD, a failed step writes "step: strerror" to FD (close-on-exec, so a
 * successful exec closes it unwritten) and the helper exits 127.
 *
 * Built twice from this one source: the executable, and (with -DEXECUTOR_SPAWN_LIBRARY -shared)
 * a library whose executor_setup(argc, argv) applies the same steps without the exec, for a
 * child a zygote forked: one child-setup path for every way a run starts.
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
#include <dirent.h>
#include <sys/ipc.h>
#include <sys/mount.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_RLIMITS 32
#define MAX_WRITES 8
#define MAX_LANDLOCK_PATHS 16

/* Landlock (linux/landlock.h), written out: build hosts may have headers older than the
 * kernels the helper runs on. Syscall numbers are the same on every architecture. */
#define LANDLOCK_CREATE_RULESET 444
#define LANDLOCK_ADD_RULE 445
#define LANDLOCK_RESTRICT_SELF 446
#define LANDLOCK_RULE_PATH_BENEATH 1
#define LL_EXECUTE (1ULL << 0)
#define LL_WRITE_FILE (1ULL << 1)
#define LL_READ_FILE (1ULL << 2)
#define LL_READ_DIR (1ULL << 3)
#define LL_REMOVE_DIR (1ULL << 4)
#define LL_REMOVE_FILE (1ULL << 5)
#define LL_MAKE_CHAR (1ULL << 6)
#define LL_MAKE_DIR (1ULL << 7)
#define LL_MAKE_REG (1ULL << 8)
#define LL_MAKE_SOCK (1ULL << 9)
#define LL_MAKE_FIFO (1ULL << 10)
#define LL_MAKE_BLOCK (1ULL << 11)
#define LL_MAKE_SYM (1ULL << 12)
#define LL_REFER (1ULL << 13)    /* ABI 2 */
#define LL_TRUNCATE (1ULL << 14) /* ABI 3 */
#define LL_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0) /* ABI 6 */
#define LL_SCOPE_SIGNAL (1ULL << 1)               /* ABI 6 */

struct landlock_ruleset_attr_v6 {
    unsigned long long handled_access_fs;
    unsigned long long handled_access_net;
    unsigned long long scoped;
};

struct landlock_path_beneath {
    unsigned long long allowed_access;
    int parent_fd;
} __attribute__((packed));
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

/* The filesystem rights Landlock knows at ``abi`` (IOCTL_DEV, ABI 5, is left unhandled:
 * device ioctls stay as the uid's permissions make them). */
static unsigned long long landlock_fs_rights(long abi) {
    unsigned long long rights = (LL_MAKE_SYM << 1) - 1; /* ABI 1: EXECUTE .. MAKE_SYM */
    if (abi >= 2) rights |= LL_REFER;
    if (abi >= 3) rights |= LL_TRUNCATE;
    return rights;
}

static void landlock_allow(int ruleset, const char *path, unsigned long long rights) {
    int fd = open(path, O_PATH | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return; /* nothing to allow where nothing exists */
        fail(path);
    }
    struct stat st;
    if (fstat(fd, &st) != 0) fail(path);
    /* A rule on a file may hold only the rights that apply to files. */
    if (!S_ISDIR(st.st_mode)) rights &= LL_EXECUTE | LL_WRITE_FILE | LL_READ_FILE | LL_TRUNCATE;
    struct landlock_path_beneath rule = {.allowed_access = rights, .parent_fd = fd};
    if (syscall(LANDLOCK_ADD_RULE, ruleset, LANDLOCK_RULE_PATH_BENEATH, &rule, 0) != 0)
        fail("landlock_add_rule");
    close(fd);
}

/* Everything read-only and executable, the -W directories whole, the -S directories for regular
 * files, the -D files readable and writable; scoped where the kernel can. Must follow
 * no_new_privs. */
static void landlock_restrict(long abi, char **whole, int whole_count, char **shared,
                              int shared_count, char **devices, int device_count) {
    unsigned long long all = landlock_fs_rights(abi);
    struct landlock_ruleset_attr_v6 attr = {.handled_access_fs = all};
    size_t attr_size = sizeof attr - sizeof attr.scoped;
    if (abi >= 6) {
        attr.scoped = LL_SCOPE_ABSTRACT_UNIX_SOCKET | LL_SCOPE_SIGNAL;
        attr_size = sizeof attr;
    }
    int ruleset = (int)syscall(LANDLOCK_CREATE_RULESET, &attr, attr_size, 0);
    if (ruleset < 0) fail("landlock_create_ruleset");
    landlock_allow(ruleset, "/", LL_EXECUTE | LL_READ_FILE | LL_READ_DIR);
    for (int i = 0; i < whole_count; i++) landlock_allow(ruleset, whole[i], all);
    unsigned long long files = LL_READ_FILE | LL_READ_DIR | LL_WRITE_FILE | LL_MAKE_REG |
                               LL_REMOVE_FILE | (all & LL_TRUNCATE);
    for (int i = 0; i < shared_count; i++) landlock_allow(ruleset, shared[i], files);
    for (int i = 0; i < device_count; i++)
        landlock_allow(ruleset, devices[i], LL_READ_FILE | LL_WRITE_FILE);
    if (syscall(LANDLOCK_RESTRICT_SELF, ruleset, 0) != 0) fail("landlock_restrict_self");
    close(ruleset);
}

/* Fork; in the parent, wait for the child, report its peak memory on ``result_fd`` and end as
 * it ended. Only the child returns. */
static void keep(int result_fd) {
    pid_t child = fork();
    if (child < 0) fail("fork");
    if (child == 0) {
        close(result_fd);
        return;
    }
    /* The error pipe must reach EOF when the child's exec succeeds, not when the run ends. */
    if (error_fd >= 0) close(error_fd);
    error_fd = -1;
    int status = 0;
    struct rusage usage;
    while (wait4(child, &status, 0, &usage) < 0) {
        if (errno != EINTR) _exit(127);
    }
    char line[64];
    int length = snprintf(line, sizeof line, "maxrss %ld\n", usage.ru_maxrss);
    if (length > 0 && write(result_fd, line, (size_t)length) < 0) {
        /* the service will do without it */
    }
    if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
    int sig = WIFSIGNALED(status) ? WTERMSIG(status) : SIGKILL;
    signal(sig, SIG_DFL);
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, sig);
    sigprocmask(SIG_UNBLOCK, &only, NULL);
    kill(getpid(), sig);
    _exit(128 + sig); /* a signal that does not end a process (none should reach here) */
}

/* The number after ``key`` in the first line of ``path`` that starts with it, or -1. */
static long long field_of(const char *path, const char *key) {
    FILE *file = fopen(path, "re");
    if (file == NULL) return -1;
    char line[256];
    size_t key_length = strlen(key);
    long long value = -1;
    while (fgets(line, sizeof line, file) != NULL) {
        if (strncmp(line, key, key_length) == 0) {
            value = strtoll(line + key_length, NULL, 10);
            break;
        }
    }
    fclose(file);
    return value;
}

static void print_pss_of(uid_t uid) {
    DIR *proc = opendir("/proc");
    if (proc == NULL) fail("/proc");
    long long total_kb = 0;
    struct dirent *entry;
    char path[300];
    while ((entry = readdir(proc)) != NULL) {
        if (entry->d_name[0] < '1' || entry->d_name[0] > '9') continue;
        snprintf(path, sizeof path, "/proc/%s/status", entry->d_name);
        if (field_of(path, "Uid:") != (long long)uid) continue;
        snprintf(path, sizeof path, "/proc/%s/smaps_rollup", entry->d_name);
        long long pss = field_of(path, "Pss:");
        if (pss > 0) total_kb += pss;
    }
    closedir(proc);
    printf("pss %lld\n", total_kb);
    fflush(stdout);
}

/* Parse the options and apply the steps up to and including seccomp, in order; the modes that act
 * on a uid (-k -q -I -M) and the check (-c) end the process here. Returns the index of the
 * program's argv (after "--"), argc when there is none. */
static int setup(int argc, char **argv) {
    int resources[MAX_RLIMITS];
    rlim_t values[MAX_RLIMITS];
    int rlimit_count = 0;
    long long uid = -1, gid = -1, unshare_flags = 0;
    const char *private_tmp = NULL;
    const char *proc_options = NULL;
    const char *network_namespace = NULL;
    char *writes[MAX_WRITES];
    int write_count = 0;
    int filter_fd = -1;
    int result_fd = -1;
    int check_only = 0;
    int idle = 0;
    long landlock_abi = 0;
    char *whole[MAX_LANDLOCK_PATHS], *shared[MAX_LANDLOCK_PATHS], *devices[MAX_LANDLOCK_PATHS];
    int whole_count = 0, shared_count = 0, device_count = 0;
    int option;

    while ((option = getopt(argc, argv, "+r:u:g:n:N:t:P:w:s:e:k:q:I:M:L:W:S:D:R:ic")) != -1) {
        switch (option) {
        case 'c': check_only = 1; break;
        case 'i': idle = 1; break;
        case 'R':
            result_fd = (int)parse_number(optarg, "-R");
            if (fcntl(result_fd, F_SETFD, FD_CLOEXEC) != 0) fail("result fd");
            break;
        case 'L': landlock_abi = (long)parse_number(optarg, "-L"); break;
        case 'W':
        case 'S':
        case 'D': {
            char **list = option == 'W' ? whole : option == 'S' ? shared : devices;
            int *count = option == 'W' ? &whole_count : option == 'S' ? &shared_count : &device_count;
            if (*count == MAX_LANDLOCK_PATHS) {
                errno = E2BIG;
                fail("-W/-S/-D");
            }
            list[(*count)++] = optarg;
            break;
        }
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
        case 'N': network_namespace = optarg; break;
        case 't': private_tmp = optarg; break;
        case 's': filter_fd = (int)parse_number(optarg, "-s"); break;
        case 'e':
            error_fd = (int)parse_number(optarg, "-e");
            if (fcntl(error_fd, F_SETFD, FD_CLOEXEC) != 0) fail("error fd");
            break;
        case 'M': {
            uid_t target = (uid_t)parse_number(optarg, "-M");
            become(target, (gid_t)target);
            print_pss_of(target);
            _exit(0);
        }
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

    if (network_namespace != NULL) {
        int namespace_fd = open(network_namespace, O_RDONLY | O_CLOEXEC);
        if (namespace_fd < 0) fail("open the network namespace");
        if (setns(namespace_fd, CLONE_NEWNET) != 0) fail("setns");
        close(namespace_fd);
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
    if (idle) {
        struct sched_param none = {.sched_priority = 0};
        if (sched_setscheduler(0, SCHED_IDLE, &none) != 0) fail("sched_setscheduler");
    }
    umask(077);
    /* The keeper (-R) forks here, while still root: a run can neither signal nor trace it. */
    if (result_fd >= 0) keep(result_fd);
    /* ---- root ends here ---- */
    if (uid >= 0) become((uid_t)uid, (gid_t)(gid >= 0 ? gid : uid));
    /* Changing uids made the process non-dumpable: an exec would undo that, a zygote's run does
     * not exec. Dumpable, its /proc files are its uid's, so that its memory can be measured as
     * its uid (-M); it holds nothing of root's (a zygote holds nothing secret). */
    if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) != 0) fail("dumpable");
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) fail("no_new_privs");
    if (landlock_abi > 0)
        landlock_restrict(landlock_abi, whole, whole_count, shared, shared_count, devices,
                          device_count);
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
        if (local >= 0 || errno != EPERM) {
            errno = local >= 0 ? EEXIST : errno;
            fail("seccomp check: socket(AF_UNIX) was not refused with EPERM");
        }
        int pair[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0)
            fail("seccomp check: socketpair(AF_UNIX) was refused");
        _exit(0);
    }
    return optind;
}

#ifdef EXECUTOR_SPAWN_LIBRARY
/* The same steps in a process that goes on without exec: a child forked by a zygote (a
 * pre-initialised interpreter) calls this, then runs the program in-process. argv[0] is ignored,
 * as a program name; on a failure the step is written to the -e descriptor and the process exits
 * 127, as the helper does. */
int executor_setup(int argc, char **argv) {
    optind = 0; /* glibc: a full reinitialisation of getopt */
    setup(argc, argv);
    return 0;
}
#else
int main(int argc, char **argv) {
    int program = setup(argc, argv);
    if (program >= argc) {
        errno = EINVAL;
        fail("no program after the options");
    }
    execve(argv[program], &argv[program], environ);
    fail(argv[program]);
    return 127;
}
#endif
