# A static binary on a minimal, non-root image.
# Inside a container 127.0.0.1 is the container's own loopback: probe from
# inside it (docker exec), or run with --network host to measure the host's.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The build context has no .git, so the version comes in as a build
# argument: docker build --build-arg VERSION=1.2.3 .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w -X main.buildVersion=${VERSION}" -o /out/loopback .

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/loopback /loopback
USER nonroot:nonroot
ENTRYPOINT ["/loopback"]
