// Command barepk is the floor MealSync's recipe GET is measured against: a
// bare net/http server whose one handler does what GET /api/v1/recipes/{id}
// does at the database — one primary-key lookup of a recipe, with pgx — and
// answers the row in MealSync's envelope. No authentication, no middleware,
// no logging, no metrics: the least a Go server can do for that request.
//
//	barepk -addr 127.0.0.1:8090 -database-url postgres://…
//
// test/bench runs it beside MealSync on the same database and compares
// their throughput (docs/BENCHMARKS.md). It is a benchmark program, not part
// of the product.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

type ingredient struct {
	Name     string `json:"name"`
	Quantity string `json:"quantity"`
	Unit     string `json:"unit"`
}

// recipe has the fields of MealSync's RecipeReadDto, so both answers are
// alike in size.
type recipe struct {
	ID              string          `json:"id"`
	Name            string          `json:"name"`
	Ingredients     json.RawMessage `json:"ingredients"`
	Instructions    json.RawMessage `json:"instructions"`
	Cuisine         string          `json:"cuisine"`
	ImageURL        *string         `json:"imageUrl"`
	IngredientKey   string          `json:"ingredientKey"`
	Description     string          `json:"description"`
	PreparationTime int             `json:"preparationTime"`
	CookingTime     int             `json:"cookingTime"`
	TotalTime       int             `json:"totalTime"`
	Servings        int             `json:"servings"`
	Calories        float64         `json:"calories"`
	Protein         float64         `json:"protein"`
	Carbohydrates   float64         `json:"carbohydrates"`
	Fat             float64         `json:"fat"`
	Difficulty      string          `json:"difficulty"`
	Tags            json.RawMessage `json:"tags"`
	Source          string          `json:"source"`
	CreatedAt       time.Time       `json:"createdAt"`
	UpdatedAt       *time.Time      `json:"updatedAt"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "listen `address`")
	dbURL := flag.String("database-url", os.Getenv("MEALSYNC_DATABASE_URL"), "PostgreSQL `URL`")
	conns := flag.Int("pool", 20, "connection pool size (MealSync's default)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, *dbURL, *conns); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, addr, dbURL string, conns int) error {
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return err
	}
	cfg.MaxConns = int32(conns)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/recipes/{id}", func(w http.ResponseWriter, r *http.Request) {
		var rec recipe
		err := pool.QueryRow(r.Context(), `SELECT id, name, ingredients, instructions, cuisine, image_url,
			ingredient_key, description, preparation_time, cooking_time, total_time, servings,
			calories, protein, carbohydrates, fat, difficulty, tags, source, created_at, updated_at
			FROM recipes WHERE id = $1`, r.PathValue("id")).Scan(&rec.ID, &rec.Name, &rec.Ingredients,
			&rec.Instructions, &rec.Cuisine, &rec.ImageURL, &rec.IngredientKey, &rec.Description,
			&rec.PreparationTime, &rec.CookingTime, &rec.TotalTime, &rec.Servings, &rec.Calories,
			&rec.Protein, &rec.Carbohydrates, &rec.Fat, &rec.Difficulty, &rec.Tags, &rec.Source,
			&rec.CreatedAt, &rec.UpdatedAt)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintln(w, `{"data":null,"errors":[{"field":"Resource","message":"not found"}]}`)
		case err != nil:
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprintln(w, `{"data":null,"errors":[{"field":"Unknown","message":"error"}]}`)
		default:
			json.NewEncoder(w).Encode(map[string]any{"data": rec, "errors": nil})
		}
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Printf("listening %s\n", ln.Addr()) // the harness reads this line
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { <-ctx.Done(); srv.Shutdown(context.Background()) }()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
