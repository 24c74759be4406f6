/*
 * miniping.c - a tiny ping for the e2e tests, so they need no iputils on the box.
 *
 * Sends COUNT ICMP echo requests (raw socket, root) to ADDR, INTERVAL ms apart,
 * waits up to WAIT ms after the last one, and prints one JSON line:
 *   {"target":"10.8.0.1","sent":3,"received":3,"rtt_ms":[0.21,0.18,0.19]}
 * Replies are matched by source address, identifier and sequence number.
 * Exit status: 0 if at least one reply came back, 1 if none, 2 on usage/system errors.
 * Everything is bounded: total run time <= COUNT * INTERVAL + WAIT.
 *
 * usage: miniping [-c COUNT=3] [-i INTERVAL_MS=200] [-W WAIT_MS=1000] ADDR
 * build: gcc -O2 -o miniping miniping.c
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_COUNT 1000

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static unsigned short csum(const void *data, size_t len) {
    const unsigned char *p = data;
    unsigned long sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2) sum += (p[i] << 8) | p[i + 1];
    if (len & 1) sum += p[len - 1] << 8;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return htons(~sum & 0xffff);
}

int main(int argc, char **argv) {
    int count = 3, interval = 200, wait_ms = 1000, c;
    while ((c = getopt(argc, argv, "c:i:W:")) != -1) {
        switch (c) {
        case 'c': count = atoi(optarg); break;
        case 'i': interval = atoi(optarg); break;
        case 'W': wait_ms = atoi(optarg); break;
        default: goto usage;
        }
    }
    if (optind != argc - 1 || count < 1 || count > MAX_COUNT || interval < 0 || wait_ms < 0) goto usage;
    const char *target = argv[optind];
    struct sockaddr_in dst = {.sin_family = AF_INET};
    if (inet_pton(AF_INET, target, &dst.sin_addr) != 1) goto usage;

    int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    if (fd < 0) { perror("miniping: socket"); return 2; }

    unsigned short ident = (unsigned short)(getpid() ^ 0x5a5a);
    static double sent_at[MAX_COUNT];
    static double rtt[MAX_COUNT];
    int got[MAX_COUNT] = {0};
    int sent = 0, received = 0;
    double next_send = now_ms(), end = 0;

    while (1) {
        double t = now_ms();
        if (sent < count && t >= next_send) {
            unsigned char pkt[8 + 32];
            struct icmphdr *h = (struct icmphdr *)pkt;
            memset(pkt, 0, sizeof pkt);
            for (size_t i = 8; i < sizeof pkt; i++) pkt[i] = (unsigned char)i;
            h->type = ICMP_ECHO;
            h->un.echo.id = htons(ident);
            h->un.echo.sequence = htons(sent + 1);
            h->checksum = csum(pkt, sizeof pkt);
            sent_at[sent] = t;
            if (sendto(fd, pkt, sizeof pkt, 0, (struct sockaddr *)&dst, sizeof dst) < 0) perror("miniping: sendto");
            sent++;
            next_send = t + interval;
            if (sent == count) end = t + wait_ms;
        }
        if (sent == count && (received == count || t >= end)) break;
        double until = sent < count ? next_send : end;
        int timeout = (int)(until - t) + 1;
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, timeout < 0 ? 0 : timeout) <= 0) continue;
        unsigned char buf[2048];
        struct sockaddr_in from;
        socklen_t flen = sizeof from;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
        if (n < (ssize_t)sizeof(struct iphdr)) continue;
        struct iphdr *ip = (struct iphdr *)buf;
        size_t ihl = ip->ihl * 4;
        if ((size_t)n < ihl + 8 || from.sin_addr.s_addr != dst.sin_addr.s_addr) continue;
        struct icmphdr *r = (struct icmphdr *)(buf + ihl);
        int seq = ntohs(r->un.echo.sequence);
        if (r->type != ICMP_ECHOREPLY || ntohs(r->un.echo.id) != ident || seq < 1 || seq > sent || got[seq - 1]) continue;
        got[seq - 1] = 1;
        rtt[seq - 1] = now_ms() - sent_at[seq - 1];
        received++;
    }

    printf("{\"target\":\"%s\",\"sent\":%d,\"received\":%d,\"rtt_ms\":[", target, sent, received);
    for (int i = 0, first = 1; i < sent; i++) {
        if (!got[i]) continue;
        printf("%s%.3f", first ? "" : ",", rtt[i]);
        first = 0;
    }
    printf("]}\n");
    return received > 0 ? 0 : 1;

usage:
    fprintf(stderr, "usage: %s [-c COUNT] [-i INTERVAL_MS] [-W WAIT_MS] ADDR\n", argv[0]);
    return 2;
}
