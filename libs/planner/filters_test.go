package planner

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

// TestRecognizeConditions holds the misreads of a new-user test of `vds ask`: conditions on rows,
// "which X has the highest Y", and two values of one column, which were dropped or misread (the
// answers were about all rows, or another column, with high confidence).
func TestRecognizeConditions(t *testing.T) {
	for _, tc := range []struct {
		s    *Schema
		q    string
		want string
	}{
		{tips(), "Which day has the highest average total_bill?", "compare_groups measure=total_bill agg=mean group=day"},
		{tips(), "What is the total tip on Sunday?", "describe measure=tip agg=sum where=day=Sun"},
		{titanicSchema(), "What is the median fare for women?", "describe measure=fare agg=median where=sex=female"},
		{titanicSchema(), "Did women survive more than men?", "compare_groups measure=survived agg=rate group=sex"},
		{tips(), "How many bills had a tip above 5?", "describe measure=total_bill agg=count where=tip>5"},
		{tips(), "What is the average tip at dinner on Saturday?", "describe measure=tip agg=mean where=day=Sat where=time=Dinner"},
		{titanicSchema(), "What is the survival rate by class for men?", "compare_groups measure=survived agg=rate group=class where=sex=male"},
		{titanicSchema(), "Which class had the highest survival rate?", "compare_groups measure=survived agg=rate group=class"},
		{tips(), "What is the average tip for parties of size above 3?", "describe measure=tip agg=mean where=size>3"},
		{tips(), "What is the average tip when the bill is at least 20.5?", "describe measure=tip agg=mean where=total_bill>=20.5"},
		// A model uses every row: the condition is reported as not applied.
		{titanicSchema(), "why did women survive?", "drivers measure=survived ignored=sex=female"},
		// A yes/no question about the measure itself is not a row condition.
		{tips(), "Is tip greater than 2?", "describe measure=tip agg=mean"},
		// A word that is a column's name names the column, not a value.
		{tips(), "average tip by smoker", "compare_groups measure=tip agg=mean group=smoker"},
		// Exclusions, either of two values, and a comparison whose nearest word names no column
		// (a second new-user test: these were read as day = Sun, dropped, or as tip > 4).
		{tips(), "average tip where day is not Sun", "describe measure=tip agg=mean where=day!=Sun"},
		{tips(), "average tip excluding Sunday", "describe measure=tip agg=mean where=day!=Sun"},
		{tips(), "average tip on days other than Sunday", "describe measure=tip agg=mean where=day!=Sun"},
		{tips(), "average tip on Saturday or Sunday", "describe measure=tip agg=mean where=day in Sat,Sun"},
		{tips(), "average tip except on Saturdays and Sundays", "describe measure=tip agg=mean where=day not in Sat,Sun"},
		{tips(), "average tip where size = 2", "describe measure=tip agg=mean where=size=2"},
		{tips(), "which day has the lowest total tip", "compare_groups measure=tip agg=sum group=day"},
		// Boolean columns: named, negated, or given a value.
		{tipsBool(), "average tip for smokers", "describe measure=tip agg=mean where=smoker=true"},
		{tipsBool(), "average tip for non-smokers", "describe measure=tip agg=mean where=smoker=false"},
		{tipsBool(), "average tip where smoker = true", "describe measure=tip agg=mean where=smoker=true"},
		{tipsBool(), "average tip when smoker is Yes and day is Sun", "describe measure=tip agg=mean where=smoker=true where=day=Sun"},
		{tipsBool(), "average tip when smoker is not Yes", "describe measure=tip agg=mean where=smoker=false"},
		{tipsBool(), "average tip for smokers and non-smokers", "compare_groups measure=tip agg=mean group=smoker"},
		{titanicSchema(), "average age where survived = 1", "describe measure=age agg=mean where=survived=true"},
		{titanicSchema(), "average age of survivors", "describe measure=age agg=mean where=survived=true"},
		{titanicSchema(), "average fare of those who did not survive", "describe measure=fare agg=mean where=survived=false"},
		// A negation reaches only its own value (a third new-user test: "non-smokers on Saturday"
		// was read as smoker = No and day != Sat).
		{tipsBool(), "What is the average tip for non-smokers on Saturday?", "describe measure=tip agg=mean where=smoker=false where=day=Sat"},
		{tipsBool(), "average tip for male non-smokers at lunch", "describe measure=tip agg=mean where=sex=Male where=smoker=false where=time=Lunch"},
		{titanicSchema(), "mean fare for passengers who did not survive in first class?", "describe measure=fare agg=mean where=survived=false where=class=First"},
		// Ranges, equalities in words, ages, and an exclusion within a grouping.
		{tips(), "average tip for bills between 10 and 20", "describe measure=tip agg=mean where=total_bill>=10 where=total_bill<=20"},
		{tips(), "average tip when size is 2", "describe measure=tip agg=mean where=size=2"},
		{tips(), "average tip for a size of 2", "describe measure=tip agg=mean where=size=2"},
		{titanicSchema(), "average fare of passengers older than 60", "describe measure=fare agg=mean where=age>60"},
		{tips(), "What is the average tip by day excluding Sunday?", "compare_groups measure=tip agg=mean group=day where=day!=Sun"},
		{tips(), "average tip on weekends", "describe measure=tip agg=mean where=day in Sat,Sun"},
		{tips(), "average tip on weekdays", "describe measure=tip agg=mean where=day not in Sat,Sun"},
		// Yes/no columns that are 0/1 numbers or Yes/No categories, named in several words.
		{telcoFlags(), "churn rate for senior citizens", "describe measure=Churn agg=rate where=SeniorCitizen=1"},
		{telcoFlags(), "average monthly charges for customers with tech support", "describe measure=MonthlyCharges agg=mean where=TechSupport=Yes"},
		{telcoFlags(), "average monthly charges for customers without tech support", "describe measure=MonthlyCharges agg=mean where=TechSupport=No"},
		{telcoFlags(), "churn rate for customers with dependents?", "describe measure=Churn agg=rate where=Dependents=true"},
		{telcoFlags(), "What is the average monthly charge for customers without internet service?", "describe measure=MonthlyCharges agg=mean where=InternetService=No"},
		{telcoFlags(), "What is the average monthly charge for customers with internet service?", "describe measure=MonthlyCharges agg=mean where=InternetService!=No"},
		// A fourth new-user test: a synonym for the measure, "in 2020", "number of" a numeric column,
		// "country" is not "count", and "churned versus stayed" compares.
		{mpgSchema(), "Which origin has the best fuel economy?", "compare_groups measure=mpg agg=mean group=origin"},
		{healthSchema(), "Which country spent the most on health in 2020?", "compare_groups measure=Spending_USD agg=sum group=Country where=Year=2020"},
		{healthSchema(), "Which country had the highest Spending_USD in 2020?", "compare_groups measure=Spending_USD agg=mean group=Country where=Year=2020"},
		{flightsSchema(), "Is the number of passengers growing over the years?", "trend measure=passengers agg=sum time=year"},
		{telcoFlags(), "What is the average monthly charge for customers who churned versus those who stayed?", "compare_groups measure=MonthlyCharges agg=mean group=Churn"},
		{mpgSchema(), "How has mpg changed over the model years?", "trend measure=mpg agg=mean time=model_year"},
		{mpgSchema(), "Average mpg of japanese cars with model year after 75", "describe measure=mpg agg=mean where=origin=japan where=model_year>75"},
		{&Schema{Columns: []Column{{Name: "island", Type: "categorical", Values: []string{"Biscoe", "Dream", "Torgersen"}}, {Name: "body_mass_g", Type: "numeric"}}},
			"Which island has the most penguins?", "describe measure=island agg=count"},
		// "does X increase Y" asks for an effect; "does Y increase with X" for a relationship.
		{nsw(), "does treat increase re78?", "effect measure=re78 group=treat"},
		{tips(), "does tip increase with total_bill", "relationship measure=tip group=total_bill"},
	} {
		if got := Recognize(tc.s, tc.q).String(); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.q, got, tc.want)
		}
	}
	// A ranking with nothing to rank by asks which measure (it ranked the groups by row counts), and
	// a ratio of two columns is not answered with the first alone.
	if in := Recognize(mpgSchema(), "Which origin is the best?"); in.Kind != Clarify || !contains(in.Options, "mpg") {
		t.Errorf("which origin is the best: got %s %q, want a question back offering mpg", in, in.Clarification)
	}
	for _, q := range []string{"What is the average tip as a percentage of the total bill?", "Do smokers tip more than non-smokers as a percentage of the bill?"} {
		in := Recognize(tipsBool(), q)
		if in.Kind != Clarify || len(in.Options) != 0 || !strings.Contains(in.Clarification, `SELECT avg("tip" / "total_bill")`) {
			t.Errorf("%q: got %s %q, want the ratio's query and no answer", q, in, in.Clarification)
		}
	}
	// A comparison whose column the question does not name is asked back, not dropped.
	for _, q := range []string{"How many parties had more than 2 people?", "average tip for parties larger than 4"} {
		in := Recognize(tips(), q)
		if in.Kind != Clarify || !contains(in.Options, "size") {
			t.Errorf("%q: got %s %q, want a question back offering size", q, in, in.Clarification)
		}
	}
}

// tipsBool is tips with smoker read as a boolean from Yes/No, as ingestion reads it.
func tipsBool() *Schema {
	s := tips()
	c := s.Col("smoker")
	c.Type, c.Values, c.TrueLabel, c.FalseLabel = "boolean", []string{"false", "true"}, "Yes", "No"
	return s
}

func telcoFlags() *Schema {
	return &Schema{Columns: []Column{{Name: "customerID", Type: "identifier"}, {Name: "SeniorCitizen", Type: "numeric", Values: []string{"0", "1"}},
		{Name: "Dependents", Type: "boolean", Values: []string{"false", "true"}, TrueLabel: "Yes", FalseLabel: "No"}, {Name: "tenure", Type: "numeric"},
		{Name: "TechSupport", Type: "categorical", Values: []string{"No", "No internet service", "Yes"}}, {Name: "MonthlyCharges", Type: "numeric"},
		{Name: "InternetService", Type: "categorical", Values: []string{"DSL", "Fiber optic", "No"}},
		{Name: "Churn", Type: "boolean", Values: []string{"false", "true"}, TrueLabel: "Yes", FalseLabel: "No"}}}
}

func mpgSchema() *Schema {
	return &Schema{Columns: []Column{{Name: "mpg", Type: "numeric"}, {Name: "cylinders", Type: "numeric", Values: []string{"3", "4", "5", "6", "8"}},
		{Name: "weight", Type: "numeric"}, {Name: "model_year", Type: "numeric", Values: []string{"70", "71", "72", "80", "82"}}, {Name: "origin", Type: "categorical", Values: []string{"europe", "japan", "usa"}}, {Name: "name", Type: "text"}}}
}

func healthSchema() *Schema {
	return &Schema{Columns: []Column{{Name: "Year", Type: "numeric"}, {Name: "Country", Type: "categorical", Values: []string{"Canada", "France", "Germany", "Great Britain", "Japan", "USA"}},
		{Name: "Spending_USD", Type: "numeric"}, {Name: "Life_Expectancy", Type: "numeric"}}}
}

func flightsSchema() *Schema {
	return &Schema{Columns: []Column{{Name: "year", Type: "numeric"}, {Name: "month", Type: "categorical", Values: []string{"April", "January"}}, {Name: "passengers", Type: "numeric"}}}
}

func nsw() *Schema {
	return &Schema{Columns: []Column{{Name: "treat", Type: "boolean"}, {Name: "age", Type: "numeric"}, {Name: "re75", Type: "numeric"}, {Name: "re78", Type: "numeric"}}}
}

// asBoolean makes a column of the test table boolean (true where it equals yes), as ingestion reads
// Yes/No and 0/1 columns, and its schema column boolean with the file's spellings. (DuckDB's own
// reader may already have read Yes/No as true/false.)
func asBoolean(t *testing.T, tools duckTools, s *Schema, col, yes, trueLabel, falseLabel string) {
	t.Helper()
	if err := tools.c.Exec(context.Background(), fmt.Sprintf("CREATE OR REPLACE TABLE data AS SELECT * REPLACE (lower(CAST(%s AS VARCHAR)) IN (lower(%s), 'true') AS %[1]s) FROM data", q(col), lit(yes))); err != nil {
		t.Fatal(err)
	}
	c := s.Col(col)
	c.Type, c.Values, c.TrueLabel, c.FalseLabel = "boolean", []string{"false", "true"}, trueLabel, falseLabel
}

func titanicSchema() *Schema {
	return &Schema{Columns: []Column{{Name: "survived", Type: "boolean"}, {Name: "pclass", Type: "numeric", Values: []string{"1", "2", "3"}},
		{Name: "sex", Type: "categorical", Values: []string{"male", "female"}}, {Name: "age", Type: "numeric"}, {Name: "fare", Type: "numeric"},
		{Name: "class", Type: "categorical", Values: []string{"Third", "First", "Second"}}, {Name: "who", Type: "categorical", Values: []string{"man", "woman", "child"}},
		{Name: "embark_town", Type: "categorical", Values: []string{"Southampton", "Cherbourg", "Queenstown"}}}}
}

// TestAnswerConditions runs the questions on the real files: the values are the ones SQL gives for
// the rows the question names (tips: total tip on Sundays 247.39, 18 bills with a tip above 5;
// titanic: median fare of women 23.0, survival 74.2% of women and 18.9% of men).
func TestAnswerConditions(t *testing.T) {
	ctx := context.Background()
	tipsT, tipsS := openShared(t, "tabular/tips.csv")
	titT, titS := openShared(t, "tabular/titanic.csv")
	tipsBT, tipsBS := openShared(t, "tabular/tips.csv")
	asBoolean(t, tipsBT, tipsBS, "smoker", "Yes", "Yes", "No")
	titBT, titBS := openShared(t, "tabular/titanic.csv")
	telT, telS := openShared(t, "tabular/telco_churn.csv")
	heT, heS := openShared(t, "tabular/healthexp.csv")
	mpgT, mpgS := openShared(t, "tabular/mpg.csv")
	flT, flS := openShared(t, "tabular/flights.csv")
	diaT, diaS := openShared(t, "tabular/diamonds.csv")
	taxT, taxS := openShared(t, "tabular/taxis.csv")
	irisT, irisS := openShared(t, "tabular/iris.csv")
	djT, djS := openShared(t, "tabular/dowjones.csv")
	penT, penS := openShared(t, "tabular/penguins.csv")
	djS.Col("Date").Type = "datetime" // the platform's type for it (this reader calls non-text numeric)
	telS.Col("customerID").Type = "identifier"
	// The platform's schema reads up to 13 values of a column (this reader keeps 12 or fewer).
	mpgS.Col("model_year").Values = []string{"70", "71", "72", "73", "74", "75", "76", "77", "78", "79", "80", "81", "82"}
	asBoolean(t, titBT, titBS, "survived", "1", "", "")
	for _, tc := range []struct {
		tools  duckTools
		s      *Schema
		q      string
		key    string
		want   float64
		inText string
	}{
		{tipsT, tipsS, "What is the total tip on Sunday?", "sum(tip)", 247.39, "For the rows where day = Sun:"},
		{tipsT, tipsS, "How many bills had a tip above 5?", "n", 18, "For the rows where tip > 5:"},
		{titT, titS, "What is the median fare for women?", "median(fare)", 23.0, "For the rows where sex = female:"},
		// pandas: tips[tips.day != "Sun"].tip.mean(), tips[tips.day.isin(["Sat", "Sun"])].tip.mean()
		{tipsT, tipsS, "average tip where day is not Sun", "mean(tip)", 2.88208, "For the rows where day != Sun:"},
		{tipsT, tipsS, "average tip on Saturday or Sunday", "mean(tip)", 3.11528, "For the rows where day = Sat or Sun:"},
		{tipsT, tipsS, "average tip on days other than Sunday", "n", 168, "For the rows where day != Sun:"},
		// tips[tips.smoker == "Yes"].tip.mean(), the same on Sundays, tips[tips.smoker == "No"].tip.mean()
		{tipsBT, tipsBS, "average tip for smokers", "mean(tip)", 3.00871, "For the rows where smoker = Yes:"},
		{tipsBT, tipsBS, "average tip for smokers on Sunday", "mean(tip)", 3.51684, "For the rows where smoker = Yes and day = Sun:"},
		{tipsBT, tipsBS, "average tip for non-smokers", "mean(tip)", 2.99185, "For the rows where smoker = No:"},
		// titanic[titanic.survived == 1].age.mean(), titanic[titanic.survived == 0].fare.mean()
		{titBT, titBS, "average age of passengers who survived", "mean(age)", 28.34369, "For the rows where survived = true:"},
		{titBT, titBS, "average fare of those who did not survive", "mean(fare)", 22.11789, "For the rows where survived = false:"},
		// tips[(tips.smoker == "No") & (tips.day == "Sat")].tip.mean(); bills of 10 to 20; parties of 2
		{tipsBT, tipsBS, "What is the average tip for non-smokers on Saturday?", "mean(tip)", 3.10289, "For the rows where smoker = No and day = Sat:"},
		{tipsT, tipsS, "average tip for bills between 10 and 20", "mean(tip)", 2.45523, "For the rows where total_bill >= 10 and total_bill <= 20:"},
		{tipsT, tipsS, "average tip when size is 2", "mean(tip)", 2.58231, "For the rows where size = 2:"},
		{tipsT, tipsS, "What is the average tip by day excluding Sunday?", "mean(tip)|day=Sat", 2.99310, "For the rows where day != Sun:"},
		// titanic[titanic.age > 60].fare.mean()
		{titT, titS, "average fare of passengers older than 60", "mean(fare)", 41.37121, "For the rows where age > 60:"},
		// telco: churn among senior citizens (SeniorCitizen = 1), charges with tech support (Yes)
		{telT, telS, "churn rate for senior citizens", "rate(Churn)", 0.41681, "For the rows where SeniorCitizen = 1:"},
		{telT, telS, "average monthly charges for customers with tech support", "mean(MonthlyCharges)", 80.68014, "For the rows where TechSupport = Yes:"},
		{telT, telS, "churn rate for customers with dependents?", "rate(Churn)", 0.15450, "For the rows where Dependents = true:"},
		// telco[telco.InternetService == "No"].MonthlyCharges.mean()
		{telT, telS, "What is the average monthly charge for customers without internet service?", "mean(MonthlyCharges)", 21.07919, "For the rows where InternetService = No:"},
		// healthexp[healthexp.Year == 2020].groupby("Country").Spending_USD.sum(): USA 11859.179 is the most.
		{heT, heS, "Which country spent the most on health in 2020?", "sum(Spending_USD)|Country=USA", 11859.179, "USA has the highest total Spending_USD (11859)."},
		// mpg.groupby("origin").mpg.mean(): japan 30.45
		{mpgT, mpgS, "Which origin has the best fuel economy?", "mean(mpg)|origin=japan", 30.45063, "japan has the highest mean mpg"},
		// flights.groupby("year").passengers.sum(): 1520 in 1949, 5714 in 1960
		{flT, flS, "Is the number of passengers growing over the years?", "last", 5714, "The total passengers rises over time: from 1520 in 1949 to 5714 in 1960"},
		// mpg: weight and mpg, slope of mpg on weight -0.00768 (numpy.polyfit): "less", not "-0.00768 more"
		{mpgT, mpgS, "Is mpg correlated with weight?", "slope(mpg~weight)", -0.0076766, "each unit of weight goes with 0.00768 less mpg"},
		// A fifth new-user test (each value from pandas): short category values after their column,
		// a number before a column's name, "or older", "after 2000", "zero", two values joined by "and".
		{diaT, diaS, "What's the average price of diamonds with color D that are not Ideal cut?", "mean(price)", 3558.89, "For the rows where cut != Ideal and color = D:"},
		{diaT, diaS, "What's the average price of diamonds with color D and cut Premium?", "mean(price)", 3631.29, "For the rows where cut = Premium and color = D:"},
		{mpgT, mpgS, "What's the mean horsepower of 8-cylinder cars?", "mean(horsepower)", 158.30, "For the rows where cylinders = 8:"},
		{mpgT, mpgS, "What's the average mpg of cars with 4 cylinders?", "mean(mpg)", 29.28676, "For the rows where cylinders = 4:"},
		{mpgT, mpgS, "How many cars have exactly 6 cylinders?", "n", 84, "For the rows where cylinders = 6:"},
		{heT, heS, "What is the average spending in the USA after 2000?", "mean(Spending_USD)", 8073.6, "For the rows where Country = USA and Year > 2000:"},
		{taxT, taxS, "How many trips had zero passengers?", "n", 96, "For the rows where passengers = 0:"},
		{titT, titS, "What is the median fare of passengers aged 30 or older?", "median(fare)", 25.92915, "For the rows where age >= 30:"},
		{irisT, irisS, "What's the mean petal length of versicolor and virginica?", "mean(petal_length)|species=virginica", 5.552, "For the rows where species = versicolor or virginica:"},
		// iris[iris.species == "setosa"].sepal_length.max()
		{irisT, irisS, "What's the largest sepal length among setosa flowers?", "max(sepal_length)", 5.8, "For the rows where species = setosa:"},
		// A sixth new-user test (pandas values): a "not" across a verb, a numeric condition inside a
		// comparative, the count of rows with named values, "under age 18", years.
		{titT, titS, "What is the average fare of passengers who did not embark at Southampton?", "mean(fare)", 45.28388, "For the rows where embark_town != Southampton:"},
		{telT, telS, "What is the churn rate among customers with tenure less than 12 months?", "rate(Churn)", 0.48284, "For the rows where tenure < 12:"},
		{diaT, diaS, "How many diamonds have color D and clarity IF?", "rows", 73, "For the rows where color = D and clarity = IF:"},
		{titBT, titBS, "How many passengers under age 18 survived?", "n", 61, "For the rows where survived = true and age < 18:"},
		{titT, titS, "Did first class passengers pay more than second class passengers?", "mean(fare)|class=First", 84.15469, "For the rows where class = First or Second:"},
		{mpgT, mpgS, "What's the average weight of cars with 8 cylinders made before 1975?", "mean(weight)", 4213.12698, "For the rows where cylinders = 8 and model_year < 75:"},
		{heT, heS, "What was Germany's average health spending between 1990 and 2000?", "mean(Spending_USD)", 2345.7606, "For the rows where Country = Germany and Year >= 1990 and Year <= 2000:"},
		{djT, djS, "What was the average Dow Jones price in 1929?", "mean(Price)", 307.57083, "For the rows where the year of Date = 1929:"},
		// A superlative adjective names the measure: penguins.groupby("island").body_mass_g.mean()
		// (Biscoe 4716.02), iris.groupby("species").sepal_width.mean() (setosa 3.428).
		{penT, penS, "Which island has the heaviest penguins on average?", "mean(body_mass_g)|island=Biscoe", 4716.01796, "Biscoe has the highest mean body_mass_g"},
		{irisT, irisS, "Which species has the widest sepals?", "mean(sepal_width)|species=setosa", 3.428, "setosa has the highest mean sepal_width"},
		// mpg[mpg.cylinders > 4].mpg.mean() 17.38 (n = 190): "more than 4 cylinders" was read as cylinders = 4
		{mpgT, mpgS, "What is the average mpg of cars with more than 4 cylinders?", "mean(mpg)", 17.37684, "For the rows where cylinders > 4:"},
		{mpgT, mpgS, "What is the average mpg of cars with fewer than 6 cylinders?", "n", 211, "For the rows where cylinders < 6:"},
		// tips.groupby("day").tip.sum(): Fri 51.96 is the lowest.
		{tipsT, tipsS, "which day has the lowest total tip", "sum(tip)|day=Fri", 51.96, "Fri has the lowest total tip (51.96)."},
	} {
		res, err := Answer(ctx, tc.tools, tc.s, tc.q, Options{}, nil)
		if err != nil {
			t.Fatalf("%q: %v", tc.q, err)
		}
		got, ok := res.Answer.Values[tc.key]
		if !ok || got < tc.want-0.005 || got > tc.want+0.005 {
			t.Errorf("%q: %s = %v (%v), want %v; answer %q %v", tc.q, tc.key, got, ok, tc.want, res.Answer.Text, res.Answer.Values)
		}
		if !strings.Contains(res.Answer.Text, tc.inText) {
			t.Errorf("%q: answer %q does not say %q", tc.q, res.Answer.Text, tc.inText)
		}
	}
	res, err := Answer(ctx, titT, titS, "Did women survive more than men?", Options{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]float64{"mean(survived)|sex=female": 0.742, "mean(survived)|sex=male": 0.189} {
		if got := res.Answer.Values[k]; got < want-0.0005 || got > want+0.0005 {
			t.Errorf("did women survive more than men: %s = %v, want %v (%s)", k, got, want, res.Answer.Text)
		}
	}
}
