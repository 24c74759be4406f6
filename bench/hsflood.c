/*
 * hsflood.c - ToyVpn handshakes from many distinct source addresses (benchmark tool).
 *
 * Sends one valid handshake (0x00 + secret) from each of COUNT source addresses
 * BASE+1, BASE+2, ... at RATE handshakes a second (0 = as fast as it can), and counts
 * the distinct sources the server answered with a parameter datagram (first byte 0,
 * 1024 bytes). All from one UDP socket: the source address of each datagram is set
 * with an IP_PKTINFO control message, the answers come back to the same socket
 * (IP_PKTINFO on receive tells which source they answer). The namespace must treat
 * the range as local: `ip route add local BASE/16 dev lo` (AnyIP), and the server's
 * namespace needs a route back to it.
 *
 * usage: hsflood -s server -p port -k secret -b base -n count [-r rate] [-l lport] [-w wait_s]
 * prints one JSON line:
 *   {"sent":N,"answered":A,"replies":R,"offered_per_s":..,"answered_per_s":..,"send_s":..,"window_s":..}
 * answered_per_s = distinct sources answered / (last new answer - first send).
 * Bounded: stops sending after COUNT, waits at most wait_s (default 3) for answers.
 *
 * build: gcc -O2 -pthread -o hsflood hsflood.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 32
#define MAXN (1 << 20)

static int fd;
static uint32_t base_ip; /* host order */
static long count;
static unsigned char *seen;
static volatile long answered, replies;
static volatile double last_new;
static volatile int stop_rx;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *rx(void *unused) {
    static char bufs[BATCH][2048];
    static char ctl[BATCH][64];
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    (void)unused;
    while (!stop_rx) {
        for (int i = 0; i < BATCH; i++) {
            iov[i].iov_base = bufs[i];
            iov[i].iov_len = sizeof bufs[i];
            memset(&msgs[i].msg_hdr, 0, sizeof msgs[i].msg_hdr);
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_control = ctl[i];
            msgs[i].msg_hdr.msg_controllen = sizeof ctl[i];
        }
        int n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL); /* SO_RCVTIMEO bounds the wait */
        if (n <= 0) continue;
        for (int i = 0; i < n; i++) {
            if (msgs[i].msg_len != 1024 || bufs[i][0] != 0) continue;
            replies++;
            for (struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
                if (c->cmsg_level != IPPROTO_IP || c->cmsg_type != IP_PKTINFO) continue;
                struct in_pktinfo *pi = (struct in_pktinfo *)CMSG_DATA(c);
                long idx = (long)(ntohl(pi->ipi_addr.s_addr) - base_ip) - 1;
                if (idx >= 0 && idx < count && !seen[idx]) {
                    seen[idx] = 1;
                    answered++;
                    last_new = now();
                }
            }
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    const char *server = NULL, *secret = NULL, *base = NULL;
    int port = 0, lport = 40000, c;
    double rate = 0, wait_s = 3;
    while ((c = getopt(argc, argv, "s:p:k:b:n:r:l:w:")) != -1) {
        switch (c) {
        case 's': server = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 'k': secret = optarg; break;
        case 'b': base = optarg; break;
        case 'n': count = atol(optarg); break;
        case 'r': rate = atof(optarg); break;
        case 'l': lport = atoi(optarg); break;
        case 'w': wait_s = atof(optarg); break;
        default: goto usage;
        }
    }
    if (!server || !secret || !base || port <= 0 || count <= 0 || count > MAXN) goto usage;
    struct in_addr b;
    if (inet_pton(AF_INET, base, &b) != 1) goto usage;
    base_ip = ntohl(b.s_addr);
    seen = calloc(count, 1);

    fd = socket(AF_INET, SOCK_DGRAM, 0);
    int one = 1, big = 8 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof big);
    setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
    setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof one);
    struct timeval rcvto = {0, 100 * 1000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &rcvto, sizeof rcvto);
    struct sockaddr_in local = {.sin_family = AF_INET, .sin_port = htons(lport)};
    if (bind(fd, (struct sockaddr *)&local, sizeof local) < 0) { perror("bind"); return 1; }
    struct sockaddr_in dst = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (inet_pton(AF_INET, server, &dst.sin_addr) != 1) goto usage;

    pthread_t th;
    pthread_create(&th, NULL, rx, NULL);

    size_t slen = strlen(secret);
    char msg[256];
    if (slen + 1 > sizeof msg) goto usage;
    msg[0] = 0;
    memcpy(msg + 1, secret, slen);
    struct mmsghdr msgs[BATCH];
    struct iovec iov = {msg, slen + 1};
    char ctl[BATCH][CMSG_SPACE(sizeof(struct in_pktinfo))];
    double t0 = now();
    long sent = 0;
    while (sent < count) {
        if (rate > 0) {
            double due = (now() - t0) * rate;
            if (sent >= due) { struct timespec ts = {0, 200 * 1000}; nanosleep(&ts, NULL); continue; }
        }
        int k = 0;
        for (; k < BATCH && sent + k < count; k++) {
            memset(&msgs[k], 0, sizeof msgs[k]);
            msgs[k].msg_hdr.msg_name = &dst;
            msgs[k].msg_hdr.msg_namelen = sizeof dst;
            msgs[k].msg_hdr.msg_iov = &iov;
            msgs[k].msg_hdr.msg_iovlen = 1;
            msgs[k].msg_hdr.msg_control = ctl[k];
            msgs[k].msg_hdr.msg_controllen = sizeof ctl[k];
            struct cmsghdr *cm = CMSG_FIRSTHDR(&msgs[k].msg_hdr);
            cm->cmsg_level = IPPROTO_IP;
            cm->cmsg_type = IP_PKTINFO;
            cm->cmsg_len = CMSG_LEN(sizeof(struct in_pktinfo));
            struct in_pktinfo *pi = (struct in_pktinfo *)CMSG_DATA(cm);
            memset(pi, 0, sizeof *pi);
            pi->ipi_spec_dst.s_addr = htonl(base_ip + 1 + (uint32_t)(sent + k));
        }
        int r = sendmmsg(fd, msgs, k, 0);
        if (r < 0) { if (errno == EINTR || errno == ENOBUFS || errno == EAGAIN) continue; perror("sendmmsg"); return 1; }
        sent += r;
    }
    double t_sent = now();
    while (now() - t_sent < wait_s && answered < count) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    stop_rx = 1;
    pthread_join(th, NULL);
    double window = answered ? last_new - t0 : 0;
    printf("{\"sent\":%ld,\"answered\":%ld,\"replies\":%ld,\"offered_per_s\":%.0f,\"answered_per_s\":%.0f,\"send_s\":%.3f,\"window_s\":%.3f}\n",
           sent, answered, replies, sent / (t_sent - t0), window > 0 ? answered / window : 0, t_sent - t0, window);
    return 0;

usage:
    fprintf(stderr, "usage: %s -s server -p port -k secret -b base -n count [-r rate] [-l lport] [-w wait_s]\n", argv[0]);
    return 2;
}
